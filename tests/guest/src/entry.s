! The test guest's trap table (at its real base, so RTBA + 0x20 is the power-on entry),
! its window spill/fill handlers, and its start code.

.macro UNEXPECTED
    TRAP_BRANCH guest_unexpected
.endm

.macro UNEXPECTED_N n
    .rept \n
    UNEXPECTED
    .endr
.endm

.macro ENTRY target
    TRAP_BRANCH \target
.endm

! One half of the trap table (TL = 0, or TL > 0); `mondo` takes cpu_mondo (0x7c), `devmondo`
! dev_mondo (0x7d).
.macro TABLE_HALF base, mondo, devmondo
    UNEXPECTED                      ! 0x000
    ENTRY   guest_start             ! 0x001 power-on reset
    ENTRY   guest_watchdog_start    ! 0x002 watchdog reset
    UNEXPECTED                      ! 0x003
    ENTRY   guest_sir_start         ! 0x004 software-initiated reset
    UNEXPECTED_N 3                  ! 0x005-0x007
    ENTRY   guest_trap_rust         ! 0x008 instruction_access_exception
    ENTRY   guest_trap_rust         ! 0x009 instruction_access_MMU_miss
    ENTRY   guest_trap_rust         ! 0x00a instruction_access_error (hostile guest only)
    UNEXPECTED_N 0x25               ! 0x00b-0x02f
    ENTRY   guest_trap_rust         ! 0x030 data_access_exception
    ENTRY   guest_dmiss             ! 0x031 data_access_MMU_miss
    ENTRY   guest_trap_rust         ! 0x032 data_access_error
    UNEXPECTED_N 0x31               ! 0x033-0x063
    ENTRY   guest_trap_rust         ! 0x064 fast_instruction_access_MMU_miss
    UNEXPECTED_N 3
    ENTRY   guest_trap_rust         ! 0x068 fast_data_access_MMU_miss
    UNEXPECTED_N 3
    ENTRY   guest_trap_rust         ! 0x06c fast_data_access_protection
    UNEXPECTED_N 0xf                ! 0x06d-0x07b
    ENTRY   \mondo                  ! 0x07c cpu_mondo (SMP tests)
    ENTRY   \devmondo               ! 0x07d dev_mondo (console interrupt test)
    UNEXPECTED_N 2                  ! 0x07e-0x07f
    ! 0x080 spill_0_normal
    SPILL_WINDOW_64
    .org    \base + 0x84 * 32
    UNEXPECTED_N 4                  ! 0x084-0x087
    ENTRY   window_handler_spill    ! 0x088 spill_2_normal (window tests, windows.s)
    .org    \base + 0x8c * 32
    ENTRY   window_repro_spill      ! 0x08c spill_3_normal (window tests)
    .org    \base + 0x90 * 32
    UNEXPECTED_N 0x18               ! 0x090-0x0a7
    ENTRY   window_handler_spill    ! 0x0a8 spill_2_other (window tests)
    .org    \base + 0xac * 32
    UNEXPECTED_N 0x14               ! 0x0ac-0x0bf
    ! 0x0c0 fill_0_normal
    FILL_WINDOW_64
    .org    \base + 0xc4 * 32
    UNEXPECTED_N 4                  ! 0x0c4-0x0c7
    ENTRY   window_handler_fill     ! 0x0c8 fill_2_normal (window tests)
    .org    \base + 0xcc * 32
    FILL_WINDOW_64                  ! 0x0cc fill_3_normal (window tests)
    .org    \base + 0xd0 * 32
    UNEXPECTED_N 0x18               ! 0x0d0-0x0e7
    ENTRY   window_handler_fill     ! 0x0e8 fill_2_other (window tests)
    .org    \base + 0xec * 32
    UNEXPECTED_N 0x24               ! 0x0ec-0x10f
    ENTRY   guest_user_return       ! 0x110 ta 0x10: user mode hands back to the kernel
    UNEXPECTED_N 0xef               ! 0x111-0x1ff
.endm

.section .text.guest_traptable, "ax"
.balign 0x8000
.global guest_trap_table
guest_trap_table:
    TABLE_HALF guest_trap_table, guest_cpu_mondo_trap, guest_dev_mondo_trap
    .org    guest_trap_table + 0x4000
    TABLE_HALF guest_trap_table + 0x4000, guest_unexpected, guest_unexpected
    .org    guest_trap_table + 0x8000

! Reset-class entries (sun4v guest entry state: %i0 = memory base, %i1 = memory size):
! leave the reset trap level, take a stack at the top of memory and call `\rust(base,
! size)`, which does not return.
.macro RESET_ENTRY rust
    wrpr    %g0, 0, %tl
    wrpr    %g0, 0, %gl
    wrpr    %g0, 7, %cleanwin
    wrpr    %g0, 0, %wstate
    add     %i0, %i1, %g1
    sub     %g1, 2047 + 192, %sp
    mov     %i0, %o0
    call    \rust
    mov     %i1, %o1
1:  ba      1b
    nop
.endm

! Power-on entry: clear .bss, then guest_main.
guest_start:
    SETX    guest_trap_table, %g1, %g2
    wrpr    %g2, %tba
    SETX    __bss_start, %g1, %g2
    SETX    __bss_end, %g1, %g3
1:  cmp     %g2, %g3
    bgeu,pn %xcc, 2f
    nop
    stx     %g0, [%g2]
    ba      1b
    add     %g2, 8, %g2
2:  RESET_ENTRY guest_main

! Software-initiated reset entry (after mach_sir): memory is preserved.
guest_sir_start:
    RESET_ENTRY guest_after_sir

! Watchdog reset entry (failure policy `ignore`): memory is preserved.
guest_watchdog_start:
    RESET_ENTRY guest_after_watchdog

! guest_enter_user(pc, data_va) -> u64: runs the user-mode code at `pc` (a virtual address
! of context 5, %o0 = data_va) until it executes `ta 0x10`, and returns its %o1. The kernel
! builds a trap frame at TL 1 (where the nucleus context runs the kernel) with PSTATE.PRIV
! clear, sets the primary context to 5 and leaves with `retry`. The user code runs in this
! same register window (it saves nothing), so its %o registers are ours when it traps back.
.global guest_enter_user
guest_enter_user:
    save    %sp, -192, %sp
    mov     %i1, %o0                ! the user code's argument
    wrpr    %g0, 1, %tl
    rdpr    %pstate, %l1
    andn    %l1, 0x4, %l1           ! PRIV off
    sllx    %l1, 8, %l1
    rd      %ccr, %l2
    sllx    %l2, 32, %l2
    or      %l1, %l2, %l1
    rd      %asi, %l2
    sllx    %l2, 24, %l2
    or      %l1, %l2, %l1
    rdpr    %cwp, %l2
    or      %l1, %l2, %l1
    wrpr    %l1, %tstate
    wrpr    %i0, %tpc
    add     %i0, 4, %l2
    wrpr    %l2, %tnpc
    mov     8, %l2
    mov     5, %l3
    stxa    %l3, [%l2] 0x21         ! primary context 5 (we run in the nucleus at TL 1)
    retry                           ! PC = TPC: the user code
guest_user_resume:                  ! back from user mode (guest_user_return), at TL 0
    ret
    restore %o1, %g0, %o0

! ta 0x10 from user mode (TL 1, nucleus context): primary context back to 0, and return
! to guest_user_resume in privileged mode, in the same window.
guest_user_return:
    mov     8, %g1
    stxa    %g0, [%g1] 0x21
    rdpr    %tstate, %g1
    or      %g1, 0x4 << 8, %g1      ! PRIV on
    wrpr    %g1, %tstate
    SETX    guest_user_resume, %g2, %g1
    wrpr    %g1, %tpc
    add     %g1, 4, %g1
    wrpr    %g1, %tnpc
    retry                           ! PC = TPC: guest_user_resume

! The user-mode code: alone on its 8K page, run through a context-5 mapping.
.section .text.user_probe, "ax"
.balign 8192
.global guest_user_probe
guest_user_probe:
    ldx     [%o0], %o1
    ta      0x10
1:  ba      1b
    nop
.balign 8192
.previous

! data_access_MMU_miss: the benchmark (BENCH_SKIP_DMISS != 0) skips the access in five
! guest instructions; the tests handle it in Rust.
guest_dmiss:
    sethi   %hi(BENCH_SKIP_DMISS), %g1
    ldx     [%g1 + %lo(BENCH_SKIP_DMISS)], %g1
    brz,pt  %g1, guest_trap_rust
    nop
    done

! A trap the tests expect: guest_trap(tt, tpc, tl) in Rust says how to return
! (0 = done: skip the instruction, 1 = retry it, 2 = go on at GUEST_RESUME_PC, for an
! instruction fault at an address the code jumped to). The save gives Rust a window of its
! own, so the interrupted code's registers are untouched.
guest_trap_rust:
    save    %sp, -192, %sp
    rdpr    %tt, %o0
    rdpr    %tpc, %o1
    call    guest_trap
    rdpr    %tl, %o2
    brz,pt  %o0, 2f
    cmp     %o0, 2
    be,pn   %xcc, 3f
    nop
    restore
    retry
2:  restore
    done
3:  SETX    GUEST_RESUME_PC, %g2, %g1
    ldx     [%g1], %g1
    wrpr    %g1, %tpc
    add     %g1, 4, %g1
    wrpr    %g1, %tnpc
    restore
    retry

! guest_switch_stack(stack_top, base, size, f): calls f(base, size), which does not return,
! on a stack that ends at stack_top (the hostile guest keeps the top of its memory as a
! scratch region for the hypervisor to write).
.global guest_switch_stack
guest_switch_stack:
    sub     %o0, 2047 + 192, %sp
    mov     %o1, %o0
    jmpl    %o3, %o7
    mov     %o2, %o1
1:  ba      1b
    nop

! Any other trap: report it from Rust (which exits), on a stack of its own (the trap may
! come from code whose %sp is not a stack, such as the window tests').
guest_unexpected:
    rdpr    %tt, %o0
    rdpr    %tpc, %o1
    rdpr    %tl, %o2
    wrpr    %g0, 0, %tl             ! the report may take window traps of its own
    wrpr    %g0, 0, %wstate         ! the usual handlers, every window free
    wrpr    %g0, 6, %cansave
    wrpr    %g0, 0, %canrestore
    wrpr    %g0, 0, %otherwin
    wrpr    %g0, 7, %cleanwin
    SETX    guest_unexpected_stack, %g2, %g1
    add     %g1, 8192 - 2047 - 192, %sp
    call    guest_unexpected_trap
    nop

.section .bss
.balign 64
.global bench_mondo_count
bench_mondo_count:
    .skip   64 * 32
.global bench_dev_mondo_count
bench_dev_mondo_count:
    .skip   64
.balign 16
guest_unexpected_stack:
    .skip   8192
.previous

! ----- SMP tests (smp.rs) -----

! cpu_start entry of the other vCPUs: %o0 = the real address of their StartBlock, MMU off.
! Passes the entry %tl, %pil and %pstate to Rust, leaves the trap level, takes this
! guest's trap table and the stack the block names, and calls smp_secondary_entry(arg, tl,
! pil, pstate), which does not return.
.global guest_secondary_start
guest_secondary_start:
    rdpr    %tl, %o1
    rdpr    %pil, %o2
    rdpr    %pstate, %o3
    wrpr    %g0, 0, %tl
    wrpr    %g0, 0, %gl
    wrpr    %g0, 7, %cleanwin
    wrpr    %g0, 6, %cansave
    wrpr    %g0, 0, %canrestore
    wrpr    %g0, 0, %otherwin
    wrpr    %g0, 0, %wstate
    SETX    guest_trap_table, %g1, %g2
    wrpr    %g2, %tba
    ldx     [%o0 + {START_STACK_TOP}], %g1
    sub     %g1, 2047 + 192, %sp
    call    smp_secondary_entry
    nop
1:  ba      1b
    nop

! cpu_mondo (TL 0 -> 1, PSTATE.IE now 0): guest_cpu_mondo(tpc, tl) drains the queue, in a
! window of its own on the interrupted code's stack.
! The benchmark guest (bench_smp.rs) has a handler of a fixed number of instructions
! instead, which it counts (guest_bench_mondo_start to guest_bench_mondo_end, straight-line):
! the queue emptied (HEAD = TAIL) and bench_mondo_count[cpu id] incremented (one 64-byte
! line per vCPU; the id from the scratchpad register the hypervisor sets at vCPU start).
guest_cpu_mondo_trap:
.if {GUEST_BENCH}
.global guest_bench_mondo_start
guest_bench_mondo_start:
    mov     {CPU_MONDO_TAIL}, %g1
    ldxa    [%g1] {ASI_QUEUE}, %g2
    mov     {CPU_MONDO_HEAD}, %g1
    stxa    %g2, [%g1] {ASI_QUEUE}
    mov     {SCRATCHPAD_CPUID}, %g1
    ldxa    [%g1] {ASI_SCRATCHPAD}, %g1
    sllx    %g1, 6, %g1
    SETX    bench_mondo_count, %g3, %g2
    add     %g2, %g1, %g2
    ldx     [%g2], %g3
    add     %g3, 1, %g3
    stx     %g3, [%g2]
    retry
.global guest_bench_mondo_end
guest_bench_mondo_end:
.endif
    save    %sp, -192, %sp
    rdpr    %tpc, %o0
    call    guest_cpu_mondo
    rdpr    %tl, %o1
    restore
    retry

! ----- console interrupt test (console_intr.rs) -----

! dev_mondo (TL 0 -> 1, PSTATE.IE now 0): guest_dev_mondo(tpc, tl) drains the device mondo
! queue, in a window of its own on the interrupted code's stack.
! The benchmark guest (bench_ldc.rs) has a handler of a fixed number of instructions
! instead, which it counts (guest_bench_dev_mondo_start to guest_bench_dev_mondo_end,
! straight-line): the queue emptied (HEAD = TAIL) and bench_dev_mondo_count incremented.
guest_dev_mondo_trap:
.if {GUEST_BENCH}
.global guest_bench_dev_mondo_start
guest_bench_dev_mondo_start:
    mov     {DEV_MONDO_TAIL}, %g1
    ldxa    [%g1] {ASI_QUEUE}, %g2
    mov     {DEV_MONDO_HEAD}, %g1
    stxa    %g2, [%g1] {ASI_QUEUE}
    SETX    bench_dev_mondo_count, %g3, %g2
    ldx     [%g2], %g3
    add     %g3, 1, %g3
    stx     %g3, [%g2]
    retry
.global guest_bench_dev_mondo_end
guest_bench_dev_mondo_end:
.endif
    save    %sp, -192, %sp
    rdpr    %tpc, %o0
    call    guest_dev_mondo
    rdpr    %tl, %o1
    restore
    retry

! guest_queue_read(reg) / guest_queue_write(reg, value): a queue register (ASI_QUEUE VA
! `reg`: the HEAD / TAIL of the cpu or device mondo queue, hv_api::queue).
.global guest_queue_read
guest_queue_read:
    retl
    ldxa    [%o0] {ASI_QUEUE}, %o0

.global guest_queue_write
guest_queue_write:
    retl
    stxa    %o1, [%o0] {ASI_QUEUE}

! ----- shared helpers -----

! guest_bench_yield(): ends this strand's time slice under QEMU's round-robin TCG with
! -icount (bench_smp.rs): a TICK_CMPR in the past arms the timer for the next nanosecond,
! which kicks the running vCPU out of its slice. The level-14 interrupt it raises stays
! pending under PIL 15.
.global guest_bench_yield
guest_bench_yield:
    retl
    wr      %g0, 1, %asr23

! guest_bench_yield_far(): the same with the timer 2^17 ticks (1.3 M instructions) ahead:
! the boot vCPU's yield, after which the next strand gets a whole time slice (QEMU gives a
! slice at most the time to the next timer; bench_smp.rs, "Turns").
.global guest_bench_yield_far
guest_bench_yield_far:
    rd      %tick, %o0
    sllx    %o0, 1, %o0             ! without NPT (bit 63: INT_DIS in TICK_CMPR)
    srlx    %o0, 1, %o0
    sethi   %hi(0x20000), %o1
    add     %o0, %o1, %o0
    retl
    wr      %o0, %g0, %asr23

! guest_stick() -> %stick.
.global guest_stick
guest_stick:
    retl
    rd      %asr24, %o0

! guest_pil() -> %pil.
.global guest_pil
guest_pil:
    retl
    rdpr    %pil, %o0

! guest_set_pil(pil).
.global guest_set_pil
guest_set_pil:
    retl
    wrpr    %o0, %pil

! guest_set_interrupts(on): PSTATE.IE = (on != 0).
.global guest_set_interrupts
guest_set_interrupts:
    rdpr    %pstate, %o1
    andn    %o1, {PSTATE_IE}, %o1
    movrnz  %o0, {PSTATE_IE}, %o2
    movrz   %o0, 0, %o2
    or      %o1, %o2, %o1
    retl
    wrpr    %o1, %pstate


! guest_mmu_disable_status() -> status of mmu_enable(0, 1f): EINVAL when the MMU is off
! already; on EOK it was on and execution goes on at 1f with it off.
.global guest_mmu_disable_status
guest_mmu_disable_status:
    SETX    1f, %g1, %o1
    mov     0, %o0
    mov     {MMU_ENABLE}, %o5
    ta      0x80
1:  retl
    nop
