! The guest firmware's trap table, start code, client-interface entry and the jump into
! the client. The firmware is linked at FW_VA (0xf0000000) and loaded at the domain's
! real base; it runs from its real address only until the MMU is on.

.macro UNEXPECTED
    TRAP_BRANCH fw_unexpected
.endm

! Entry `tt` of the table at `base`.
.macro AT base, tt
    .org    \base + (\tt) * {TRAP_ENTRY_SIZE}
.endm

! Entries `from` up to (not including) `to` of the table at `base`: unexpected.
.macro UNEXPECTED_TO base, from, to
    AT      \base, \from
    .rept   (\to) - (\from)
    UNEXPECTED
    .endr
.endm

.macro ENTRY target
    TRAP_BRANCH \target
.endm

! One half of the trap table (TL = 0, or TL > 0): the reset vectors, the 64-bit window
! spill and fill of the privileged code (before the client owns the table), and nothing
! else is expected.
.macro TABLE_HALF base
    UNEXPECTED_TO \base, 0, {TT_POWER_ON_RESET}
    AT      \base, {TT_POWER_ON_RESET}
    ENTRY   fw_por
    AT      \base, {TT_WATCHDOG_RESET}
    ENTRY   fw_por
    AT      \base, {TT_XIR}
    ENTRY   fw_por
    AT      \base, {TT_SIR}
    ENTRY   fw_por
    UNEXPECTED_TO \base, {TT_SIR} + 1, {TT_SPILL_0_NORMAL}
    AT      \base, {TT_SPILL_0_NORMAL}
    SPILL_WINDOW_64
    UNEXPECTED_TO \base, {TT_SPILL_0_NORMAL} + {WINDOW_TRAP_ENTRIES}, {TT_FILL_0_NORMAL}
    AT      \base, {TT_FILL_0_NORMAL}
    FILL_WINDOW_64
    UNEXPECTED_TO \base, {TT_FILL_0_NORMAL} + {WINDOW_TRAP_ENTRIES}, {TBA_TL_GT_0} / {TRAP_ENTRY_SIZE}
.endm

.section .text.fw_traptable, "ax"
.balign {TBA_ALIGN}
.global fw_trap_table
fw_trap_table:
    TABLE_HALF fw_trap_table
    .org    fw_trap_table + {TBA_TL_GT_0}
    TABLE_HALF fw_trap_table + {TBA_TL_GT_0}
    .org    fw_trap_table + {TBA_ALIGN}

! The rest stays in the trap table's section: fw_por computes its own real address
! from the distance to the table.

! Reset entry, MMU off, at the real address (sun4v guest entry: %o0 = start argument,
! %i0 = memory base, %i1 = memory size). Maps the firmware's 4 MB at FW_VA with a
! permanent mapping, turns the MMU on and continues at fw_virt.
.global fw_reset_entry
fw_reset_entry:
fw_por:
    wrpr    %g0, 0, %tl
    wrpr    %g0, 0, %gl
    wrpr    %g0, {PSTATE_PRIV}, %pstate   ! interrupts off
    wrpr    %g0, {PIL_MAX}, %pil
    wrpr    %g0, {CLEANWIN}, %cleanwin
    wrpr    %g0, 0, %wstate
    wrpr    %g0, 0, %otherwin
    wrpr    %g0, 0, %canrestore
    wrpr    %g0, {CANSAVE}, %cansave
1:  rd      %pc, %g1
    SETX    (1b - fw_trap_table), %g4, %g2
    sub     %g1, %g2, %g3           ! %g3 = real address of the image
    mov     %o0, %g5                ! start argument
    SETX    FW_VA, %g4, %o0
    mov     0, %o1
    mov     1, %o2
    sllx    %o2, {TTE_V_SHIFT}, %o2
    or      %o2, %g3, %o2
    or      %o2, {FW_TTE_LOW}, %o2  ! CP, CV, P, X, W, 4 MB
    mov     {MAP_ID}, %o3           ! I and D
    mov     {MMU_MAP_PERM_ADDR}, %o5
    ta      {FAST_TRAP}
    brz,pt  %o0, 8f
    nop
    brz,pn  %g5, fw_por_failed      ! a started strand finds the mapping already there
    nop
8:  mov     1, %o0
    SETX    fw_virt, %g4, %o1
    mov     {MMU_ENABLE}, %o5
    ta      {FAST_TRAP}
fw_por_failed:
    mov     {EXIT_NO_MMU}, %o0
    mov     {MACH_EXIT}, %o5
    ta      {FAST_TRAP}
2:  ba      2b
    nop

! Now at FW_VA: trap table, stack, and the Rust side. The boot strand (start argument
! 0 from the hypervisor at power-on) clears .bss; a strand started by
! SUNW,start-cpu-by-cpuid gets its start-record index + 1 in %g5.
fw_virt:
    SETX    fw_trap_table, %g1, %g2
    wrpr    %g2, %tba
    brnz,pn %g5, fw_secondary
    nop
    SETX    __bss_start, %g1, %g2
    SETX    __bss_end, %g1, %g4
3:  cmp     %g2, %g4
    bgeu,pn %xcc, 4f
    nop
    stx     %g0, [%g2]
    ba      3b
    add     %g2, 8, %g2
4:  SETX    (fw_boot_stack + {BOOT_STACK}), %g1, %g2
    sub     %g2, {STACK_BIAS} + {FRAME}, %sp
    mov     %i0, %o0
    mov     %i1, %o1
    call    fw_main
    mov     %g3, %o2
5:  ba      5b
    nop

fw_secondary:
    SETX    fw_secondary_stacks, %g1, %g2
    sllx    %g5, {STACK_SHIFT}, %g4     ! one stack per strand: the top of stack (index + 1)
    add     %g2, %g4, %g2
    sub     %g2, {STACK_BIAS} + {FRAME}, %sp
    call    fw_secondary_main
    sub     %g5, 1, %o0
6:  ba      6b
    nop

! Any trap the firmware does not expect: report it from Rust (which stops the domain).
fw_unexpected:
    rdpr    %tt, %o0
    rdpr    %tpc, %o1
    rdpr    %tl, %o2
    SETX    (fw_boot_stack + {BOOT_STACK}), %g1, %g2
    sub     %g2, {STACK_BIAS} + {FRAME}, %sp
    call    fw_unexpected_trap
    nop

! The client-interface handler: `call %o4` with %o0 = argument array. Runs on a
! firmware stack of the calling strand (cpu_myid) with the client's globals kept.
.global fw_cif_entry
fw_cif_entry:
    save    %sp, -{FRAME}, %sp
    mov     %g1, %l1
    mov     %g2, %l2
    mov     %g3, %l3
    mov     %g4, %l4
    mov     %g5, %l5
    mov     %g6, %l6
    mov     %g7, %l7
    rd      %asi, %i2
    mov     {CPU_MYID}, %o5
    ta      {FAST_TRAP}
    cmp     %o1, {MAX_STRANDS}
    bgeu,pn %xcc, 7f                ! no stack of its own: stay on the caller's
    mov     %sp, %g2
    SETX    fw_cif_stacks, %g3, %g2
    add     %o1, 1, %o1
    sllx    %o1, {STACK_SHIFT}, %o1     ! one stack per strand
    add     %g2, %o1, %g2
    sub     %g2, {STACK_BIAS} + {FRAME}, %g2
7:  mov     %g2, %sp                ! the caller's %sp stays in %fp of its window
    call    fw_cif_rust
    mov     %i0, %o0
    wr      %i2, 0, %asi
    mov     %l1, %g1
    mov     %l2, %g2
    mov     %l3, %g3
    mov     %l4, %g4
    mov     %l5, %g5
    mov     %l6, %g6
    mov     %l7, %g7
    ret
    restore %o0, %g0, %o0

! fw_enter_client(entry, cif, sp, arg): jumps to the client with %o4 = the CIF handler,
! %sp = sp, %o0 = arg, %o1-%o3 = 0, the register windows flushed.
.global fw_enter_client
fw_enter_client:
    flushw
    mov     %o0, %g1
    mov     %o1, %o4
    mov     %o2, %sp
    mov     %o3, %o0
    mov     0, %o1
    mov     0, %o2
    mov     0, %o3
    mov     0, %i7
    mov     0, %o7
    jmpl    %g1, %g0
    mov     0, %fp

! fw_set_tba(tba): writes %tba.
.global fw_set_tba
fw_set_tba:
    retl
    wrpr    %o0, %tba

! fw_stick() -> the STICK counter.
.global fw_stick
fw_stick:
    retl
    rd      %asr24, %o0

! fw_quiesce_timer(): STICK compare off, SOFTINT cleared (what OpenBoot does before it
! hands the trap table over).
.global fw_quiesce_timer
fw_quiesce_timer:
    mov     1, %o0
    sllx    %o0, {STICK_CMPR_INT_DIS_SHIFT}, %o0
    wr      %o0, 0, %asr25          ! STICK_CMPR: interrupt disabled
    sethi   %hi({SOFTINT_ALL}), %o1
    or      %o1, %lo({SOFTINT_ALL}), %o1
    retl
    wr      %o1, 0, %asr21          ! CLEAR_SOFTINT: every level
