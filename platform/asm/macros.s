! Assembler macros shared by every sparc64 image of the project (the hypervisor, the test
! guest, the guest firmware, the QEMU feature checks), included in front of their own
! assembly. No numbers of the architecture live here: those come from Rust.

! \reg <- the 64-bit value \sym (a symbol or a constant), using \tmp.
.macro SETX sym, tmp, reg
    sethi %hh(\sym), \reg
    or    \reg, %hm(\sym), \reg
    sllx  \reg, 32, \reg
    sethi %lm(\sym), \tmp
    or    \tmp, %lo(\sym), \tmp
    or    \reg, \tmp, \reg
.endm

! Hyperprivileged register access, hand-encoded: LLVM's SPARC assembler has no
! rdhpr/wrhpr. `wrhpr %rs1, %g0, %hpr` = 0x80000000 | hpr << 25 | 0x33 << 19 | rs1 << 14;
! `rdhpr %hpr, %rd` = 0x80000000 | rd << 25 | 0x29 << 19 | hpr << 14 (register numbers).
.macro WRHPR rs1, hpr
    .word 0x80000000 | (\hpr << 25) | (0x33 << 19) | (\rs1 << 14)
.endm

.macro RDHPR hpr, rd
    .word 0x80000000 | (\rd << 25) | (0x29 << 19) | (\hpr << 14)
.endm

! One 32-byte trap-table entry that branches to \target.
.macro TRAP_BRANCH target
    ba,a,pt %xcc, \target
    .rept 7
    nop
    .endr
.endm
