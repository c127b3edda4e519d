! Register-window tests: every guest window must come back bit for bit from every trap
! into the hypervisor, whatever the window registers say (docs/architecture.md,
! "Register windows"). Offsets in braces come from windows.rs.
!
! Trap-table entries (in both halves of the table, see entry.s):
!   spill_2_normal, spill_2_other, fill_2_normal, fill_2_other: window_handler_spill /
!     window_handler_fill: make the hypercall in WINDOW_HANDLER_FN (none when it is 0)
!     with the handler's %o registers kept in its globals, then saved / restored and retry,
!     touching no window register;
!   spill_3_normal, fill_3_normal: window_repro_spill / a plain fill: the usual 64-bit
!     spill that stores the window at %sp + 2047, with a Rust-path hypercall inside it.


! All 16 registers of the current window (%l0-%l7, %i0-%i7) from / to [\base].
.macro WINDOW_LOAD base
    .irp n, 0, 1, 2, 3, 4, 5, 6, 7
    ldx     [\base + 8 * \n], %l\n
    ldx     [\base + 0x40 + 8 * \n], %i\n
    .endr
.endm

.macro WINDOW_STORE base
    .irp n, 0, 1, 2, 3, 4, 5, 6, 7
    stx     %l\n, [\base + 8 * \n]
    stx     %i\n, [\base + 0x40 + 8 * \n]
    .endr
.endm

! %l0-%l7 to the eight words at \base (frame locals of window_repro).
.macro LOCALS_STORE base
    .irp n, 0, 1, 2, 3, 4, 5, 6, 7
    stx     %l\n, [\base + 8 * \n]
    .endr
.endm

! %l0-%l7 = \pattern | \tag << 8 | (n + 1): known values in a frame's locals.
.macro LOCALS_SET pattern, tag
    .irp n, 0, 1, 2, 3, 4, 5, 6, 7
    or      \pattern, (\tag << 8) | (\n + 1), %l\n
    .endr
.endm

! The hypercall in WINDOW_HANDLER_FN (if any) from inside a window trap handler, with the
! handler's %o0-%o5 (the next window's %i0-%i5) kept in its own globals.
.macro HANDLER_HCALL
    SETX   WINDOW_HANDLER_FN, %g6, %g7
    ldx     [%g7], %g7
    brz,pn  %g7, 1f
    mov     %o0, %g1
    mov     %o1, %g2
    mov     %o2, %g3
    mov     %o3, %g4
    mov     %o4, %g5
    mov     %o5, %g6
    mov     %g7, %o5
    ta      0x80
    mov     %g1, %o0
    mov     %g2, %o1
    mov     %g3, %o2
    mov     %g4, %o3
    mov     %g5, %o4
    mov     %g6, %o5
1:
.endm

! In the trap table's section: its branches here must resolve without relocations.
.section .text.guest_traptable, "ax"
window_handler_spill:
    HANDLER_HCALL
    saved
    retry

window_handler_fill:
    HANDLER_HCALL
    restored
    retry

! window_case(case: *const WindowCase, out: *mut WindowState): loads every window from
! case.state.windows, sets the window registers and the trap level the case names, runs its
! action (nothing, `ta 0x80` with the function in the trapping window's %o5, `flushw`, a
! `restore` that fills, or a load from case.addr), then dumps every window and the window registers into `out`. The
! caller's windows are flushed to its stack first and come back through the usual fill.
.global window_case
window_case:
    save    %sp, -192, %sp
    flushw
    SETX   window_case_save, %l1, %l0
    stx     %g1, [%l0 + 0x00]       ! the globals this routine uses
    stx     %g2, [%l0 + 0x08]
    stx     %g3, [%l0 + 0x10]
    stx     %g4, [%l0 + 0x18]
    stx     %g5, [%l0 + 0x20]
    stx     %i6, [%l0 + 0x28]
    stx     %i7, [%l0 + 0x30]
    stx     %sp, [%l0 + 0x38]
    rdpr    %cwp, %l1
    stx     %l1, [%l0 + 0x40]
    mov     %l0, %g1                ! %g1 save area, %g4 case, %g5 out
    mov     %i0, %g4
    mov     %i1, %g5
    clr     %g2
1:  wrpr    %g2, %cwp               ! every window from case.state.windows
    sllx    %g2, 7, %g3
    add     %g4, %g3, %g3
    WINDOW_LOAD %g3
    add     %g2, 1, %g2
    cmp     %g2, 8
    bl,pt   %xcc, 1b
    nop
    ldx     [%g4 + {C_STATE} + {S_CWP}], %g2
    wrpr    %g2, %cwp
    ldx     [%g4 + {C_STATE} + {S_CANSAVE}], %g2
    wrpr    %g2, %cansave
    ldx     [%g4 + {C_STATE} + {S_CANRESTORE}], %g2
    wrpr    %g2, %canrestore
    ldx     [%g4 + {C_STATE} + {S_OTHERWIN}], %g2
    wrpr    %g2, %otherwin
    ldx     [%g4 + {C_STATE} + {S_CLEANWIN}], %g2
    wrpr    %g2, %cleanwin
    ldx     [%g4 + {C_STATE} + {S_WSTATE}], %g2
    wrpr    %g2, %wstate
    ldx     [%g4 + {C_ACTION}], %g3
    ldx     [%g4 + {C_TL}], %g2
    wrpr    %g2, %tl
    cmp     %g3, {ACTION_HCALL}
    be,pn   %xcc, 10f
    cmp     %g3, {ACTION_FLUSHW}
    be,pn   %xcc, 11f
    cmp     %g3, {ACTION_RESTORE}
    be,pn   %xcc, 12f
    cmp     %g3, {ACTION_LOAD}
    be,pn   %xcc, 13f
    nop
    ba,a    20f
10: ta      0x80
    ba,a    20f
11: flushw
    ba,a    20f
12: restore %g0, %g0, %g0
    ba,a    20f
13: ldx     [%g4 + {C_ADDR}], %g2
    ldx     [%g2], %g0
20: wrpr    %g0, 0, %tl
    rdpr    %cwp, %g2
    stx     %g2, [%g5 + {S_CWP}]
    rdpr    %cansave, %g2
    stx     %g2, [%g5 + {S_CANSAVE}]
    rdpr    %canrestore, %g2
    stx     %g2, [%g5 + {S_CANRESTORE}]
    rdpr    %otherwin, %g2
    stx     %g2, [%g5 + {S_OTHERWIN}]
    rdpr    %cleanwin, %g2
    stx     %g2, [%g5 + {S_CLEANWIN}]
    rdpr    %wstate, %g2
    stx     %g2, [%g5 + {S_WSTATE}]
    clr     %g2
2:  wrpr    %g2, %cwp               ! every window into out.windows
    sllx    %g2, 7, %g3
    add     %g5, %g3, %g3
    WINDOW_STORE %g3
    add     %g2, 1, %g2
    cmp     %g2, 8
    bl,pt   %xcc, 2b
    nop
    ldx     [%g1 + 0x40], %g2       ! back to this routine's window, all others flushed
    wrpr    %g2, %cwp
    wrpr    %g0, 6, %cansave
    wrpr    %g0, 0, %canrestore
    wrpr    %g0, 0, %otherwin
    wrpr    %g0, 7, %cleanwin
    wrpr    %g0, 0, %wstate
    ldx     [%g1 + 0x28], %i6
    ldx     [%g1 + 0x30], %i7
    ldx     [%g1 + 0x38], %sp
    ldx     [%g1 + 0x08], %g2
    ldx     [%g1 + 0x10], %g3
    ldx     [%g1 + 0x18], %g4
    ldx     [%g1 + 0x20], %g5
    ldx     [%g1 + 0x00], %g1
    ret
    restore

! window_repro(out: *mut [u64; 48]): the reproduction of the bug of a trap taken inside the
! guest's own spill handler. Three frames deep (CANRESTORE 3, CANSAVE 3), with known values
! in each frame's locals and in all 24 registers of the current window, `flushw` spills
! the three older windows through spill_3_normal, whose stores are interrupted by a
! hypercall that the hypervisor serves in Rust. out[0..24] gets the current window's 24
! registers after the flushw, out[24..48] the locals of the three frames after they were
! filled back (8 each), read as each `restore` brings them back.
.global window_repro
window_repro:
    save    %sp, -192, %sp
    flushw
    mov     %i0, %g5                ! out (globals stay put across save/restore)
    wrpr    %g0, 3, %wstate         ! spill_3_normal / fill_3_normal
    SETX   0x1111000000000000, %g2, %g1
    LOCALS_SET %g1, 1              ! frame 1's locals
    save    %sp, -192, %sp
    LOCALS_SET %g1, 2              ! frame 2's locals
    save    %sp, -192, %sp
    LOCALS_SET %g1, 3              ! frame 3's locals
    save    %sp, -192, %sp          ! the current window: 24 known registers
    mov     %i6, %g3                ! its frame pointer and return address stay real
    mov     %i7, %g4
    SETX   0x2222000000000000, %g2, %g1
    LOCALS_SET %g1, 0
    or      %g1, 0x11, %i0
    or      %g1, 0x12, %i1
    or      %g1, 0x13, %i2
    or      %g1, 0x14, %i3
    or      %g1, 0x15, %i4
    or      %g1, 0x16, %i5
    or      %g1, 0x21, %o0
    or      %g1, 0x22, %o1
    or      %g1, 0x23, %o2
    or      %g1, 0x24, %o3
    or      %g1, 0x25, %o4
    or      %g1, 0x26, %o5
    or      %g1, 0x27, %o6
    or      %g1, 0x28, %o7
    flushw
    LOCALS_STORE %g5
    stx     %i0, [%g5 + 0x40]
    stx     %i1, [%g5 + 0x48]
    stx     %i2, [%g5 + 0x50]
    stx     %i3, [%g5 + 0x58]
    stx     %i4, [%g5 + 0x60]
    stx     %i5, [%g5 + 0x68]
    stx     %i6, [%g5 + 0x70]       ! expected: the frame pointer (%g3)
    stx     %i7, [%g5 + 0x78]       ! expected: the return address (%g4)
    stx     %o0, [%g5 + 0x80]
    stx     %o1, [%g5 + 0x88]
    stx     %o2, [%g5 + 0x90]
    stx     %o3, [%g5 + 0x98]
    stx     %o4, [%g5 + 0xa0]
    stx     %o5, [%g5 + 0xa8]
    stx     %o6, [%g5 + 0xb0]
    stx     %o7, [%g5 + 0xb8]
    stx     %g3, [%g5 + 0x180]      ! out[48], out[49]: what %i6 and %i7 must be
    stx     %g4, [%g5 + 0x188]
    mov     %g3, %i6
    mov     %g4, %i7
    restore                         ! fills frame 3 (fill_3_normal)
    add     %g5, 0xc0, %g2
    LOCALS_STORE %g2
    restore                         ! frame 2
    add     %g5, 0x100, %g2
    LOCALS_STORE %g2
    restore                         ! frame 1
    add     %g5, 0x140, %g2
    LOCALS_STORE %g2
    wrpr    %g0, 0, %wstate
    ret
    restore

! spill_3_normal: the usual 64-bit spill, with a hypercall served in Rust (cpu_yield)
! between its stores; the handler's %o registers are kept in its globals.
window_repro_spill:
    stx     %l0, [%sp + 2047 + 0x00]
    stx     %l1, [%sp + 2047 + 0x08]
    stx     %l2, [%sp + 2047 + 0x10]
    stx     %l3, [%sp + 2047 + 0x18]
    stx     %l4, [%sp + 2047 + 0x20]
    stx     %l5, [%sp + 2047 + 0x28]
    stx     %l6, [%sp + 2047 + 0x30]
    stx     %l7, [%sp + 2047 + 0x38]
    mov     %o0, %g1
    mov     %o5, %g2
    mov     {CPU_YIELD}, %o5
    ta      0x80
    mov     %g1, %o0
    mov     %g2, %o5
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

.section .bss
.balign 8
window_case_save:                   ! window_case's globals, frame and CWP
    .skip   0x48
.previous
