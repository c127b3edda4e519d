! Spill and fill of one 64-bit register window, as the SPARC V9 ABI lays it out: %l0-%l7
! then %i0-%i7 at %sp + 2047 (the stack bias). Shared by the hypervisor's and the test
! guest's trap tables (included in front of their assembly).

.macro SPILL_WINDOW_64
    stx     %l0, [%sp + 2047 + 0x00]
    stx     %l1, [%sp + 2047 + 0x08]
    stx     %l2, [%sp + 2047 + 0x10]
    stx     %l3, [%sp + 2047 + 0x18]
    stx     %l4, [%sp + 2047 + 0x20]
    stx     %l5, [%sp + 2047 + 0x28]
    stx     %l6, [%sp + 2047 + 0x30]
    stx     %l7, [%sp + 2047 + 0x38]
    stx     %i0, [%sp + 2047 + 0x40]
    stx     %i1, [%sp + 2047 + 0x48]
    stx     %i2, [%sp + 2047 + 0x50]
    stx     %i3, [%sp + 2047 + 0x58]
    stx     %i4, [%sp + 2047 + 0x60]
    stx     %i5, [%sp + 2047 + 0x68]
    stx     %i6, [%sp + 2047 + 0x70]
    stx     %i7, [%sp + 2047 + 0x78]
    saved
    retry
.endm

.macro FILL_WINDOW_64
    ldx     [%sp + 2047 + 0x00], %l0
    ldx     [%sp + 2047 + 0x08], %l1
    ldx     [%sp + 2047 + 0x10], %l2
    ldx     [%sp + 2047 + 0x18], %l3
    ldx     [%sp + 2047 + 0x20], %l4
    ldx     [%sp + 2047 + 0x28], %l5
    ldx     [%sp + 2047 + 0x30], %l6
    ldx     [%sp + 2047 + 0x38], %l7
    ldx     [%sp + 2047 + 0x40], %i0
    ldx     [%sp + 2047 + 0x48], %i1
    ldx     [%sp + 2047 + 0x50], %i2
    ldx     [%sp + 2047 + 0x58], %i3
    ldx     [%sp + 2047 + 0x60], %i4
    ldx     [%sp + 2047 + 0x68], %i5
    ldx     [%sp + 2047 + 0x70], %i6
    ldx     [%sp + 2047 + 0x78], %i7
    restored
    retry
.endm
