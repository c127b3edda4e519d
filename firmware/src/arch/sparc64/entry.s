! The hypervisor's assembly: reset entry, the hyperprivileged trap table, the trap
! entry/exit path, register-window handling and guest entry.
!
! Register windows. The guest and the hypervisor share the register file, and every window
! is the guest's whatever its window registers say (a spill or fill handler, or code that
! wrote %cwp, has live windows that CANSAVE counts as free). The trap path saves the
! trapping window's %o in the trap frame and stashes the registers of the windows after it
! that the hypervisor enters: c+1's locals and %o at entry, c+2's locals at the first
! spill, and from c+3 on each window as spill_1_other spills it (WSTATE.OTHER = 1) into the
! strand's stash, never to the guest's stack, which may be a virtual address. The
! hypervisor's own windows spill to its stack (WSTATE.NORMAL = 0). On exit everything is
! loaded back and the window registers restored exactly. docs/architecture.md, "Register
! windows", explains why this holds for every window state.
!
! SETX, WRHPR and TRAP_BRANCH are the shared macros of platform/asm/macros.s.
!
! Every number in braces is a constant of the Rust side (platform, hv-api, the layouts
! here), given to global_asm! as a `const` operand in arch/sparc64/mod.rs: changing it in
! Rust changes the assembly.

! Eight registers %l0-%l7 (kind l), %i0-%i7 (i) or %o0-%o7 (o) to / from eight words at
! \base + \off.
.macro STORE8 kind, base, off
    .irp n, 0, 1, 2, 3, 4, 5, 6, 7
    stx     %\kind\n, [\base + \off + 8 * \n]
    .endr
.endm

.macro LOAD8 kind, base, off
    .irp n, 0, 1, 2, 3, 4, 5, 6, 7
    ldx     [\base + \off + 8 * \n], %\kind\n
    .endr
.endm

! %g1 <- this strand's StrandState (HSCRATCH 0x20; the guest cannot reach it).
.macro STRAND reg
    mov   {HSCRATCH_STRAND}, \reg
    ldxa  [\reg] {ASI_HSCRATCHPAD}, \reg
.endm

! The TTE checks and conversion both TLB fast paths share. In: \tte, a guest TTE; %g1 the
! strand; %g5 = %g1 + the offset of the entry of \tte's size code in the strand's
! page-size table (TTE_SIZE_ENTRY). Out: %g7 = the TTE with the physical address of its
! page and the lock bit cleared, %g4 = the entry's \mask (PS_PAGE_MASK: the page's VA
! bits; PS_TAG_MASK: those and the context). Sizes other than 8K/64K/4M and pages outside
! the domain go to the common path. Uses %g3, %g5, %g6.
.macro TTE_FOR_TLB tte, mask
    ldx     [%g5 + {S_PAGE_SIZES} + {PS_RA_MASK}], %g6
    brz,pn  %g6, hv_trap_common     ! not 8K, 64K or 4M
    and     \tte, %g6, %g6          ! the page's RA
    ldx     [%g5 + {S_PAGE_SIZES} + \mask], %g4
    ldx     [%g1 + {S_MEM_BASE}], %g5
    sub     %g6, %g5, %g5           ! below the domain: a huge unsigned offset
    ldx     [%g1 + {S_MEM_SIZE}], %g3
    cmp     %g5, %g3
    bgeu,pn %xcc, hv_trap_common    ! outside the domain
    ldx     [%g1 + {S_TTE_KEEP}], %g5
    and     \tte, %g5, %g7          ! clear the RA field and the lock bit
    or      %g7, %g6, %g7           ! PA (RA == PA on this platform)
.endm

! %g5 <- %g1 + the offset of the entry of \tte's size code in the strand's page-size table
! (StrandState.page_sizes, before S_PAGE_SIZES).
.macro TTE_SIZE_ENTRY tte
    and     \tte, {TTE_SZ_MASK}, %g5
    sllx    %g5, {PS_SHIFT}, %g5
    add     %g5, %g1, %g5
.endm

! The first instruction of every entry a guest reaches with its own PSTATE: QEMU keeps the
! guest's PSTATE on `ta 0x80`-`0xff` and on real-translation misses (0x3e/0x3f), where a
! trap on a T1 sets PSTATE anew (AM and IE clear); with the guest's PSTATE.AM, the entry's
! first branch would go to its target masked to 32 bits (outside the hypervisor, maybe into
! a domain). The guest's PSTATE is in TSTATE and comes back with done/retry.
.macro HV_PSTATE
    wrpr    %g0, {PSTATE_PRIV_PEF}, %pstate
.endm

! A trap-table entry that goes to the common path.
.macro TRAP_COMMON
    HV_PSTATE
    ba,a,pt %xcc, hv_trap_common
    .rept 6
    nop
    .endr
.endm

! Common-path entries from trap type \from up to \to (exclusive).
.macro COMMON_TO from, to
    .rept (\to) - (\from)
    TRAP_COMMON
    .endr
.endm

! Continue the table at trap type \tt (and fail the build if the code before ran past it).
.macro AT tt
    .org    hv_trap_table + (\tt) * {TRAP_ENTRY_SIZE}
.endm

! ---------------------------------------------------------------------------------------
! Reset: QEMU enters at PROM + 0x20 (power on) and PROM + 0x40 (later resets) at TL 6:
! nothing may trap before TL is lowered.
.section .text.reset, "ax"
.global hv_reset_vector
hv_reset_vector:
    ba,a    hv_reset
    .org    {POR_ENTRY_OFFSET}
    ba,a    hv_reset
    .org    {RESET_ENTRY_OFFSET}
    ba,a    hv_reset

hv_reset:
    mov     %g2, %o1                ! RAM size (-m), in the reset GL's %g2
    wrpr    %g0, 0, %tl
    wrpr    %g0, {PSTATE_PRIV_PEF}, %pstate  ! RED and IE clear
    wrpr    %g0, 0, %gl
    wrpr    %g0, {NWINDOWS} - 2, %cansave
    wrpr    %g0, 0, %canrestore
    wrpr    %g0, 0, %otherwin
    wrpr    %g0, {NWINDOWS} - 1, %cleanwin
    wrpr    %g0, 0, %wstate
    wr      %g0, 0, %fprs           ! FP off: the hypervisor never touches guest FP state
    SETX    hv_trap_table, %g2, %g1
    WRHPR   1, {HPR_HTBA}
    stxa    %g0, [%g0] {ASI_LSU_CONTROL}    ! I and D MMU off
    mov     {PRIMARY_CONTEXT}, %g1
    stxa    %g0, [%g1] {ASI_MMU_CONTEXT}    ! primary context 0
    mov     {SECONDARY_CONTEXT}, %g1
    stxa    %g0, [%g1] {ASI_MMU_CONTEXT}    ! secondary context 0
    rd      %asr26, %o0             ! strand status: the strand id
    srlx    %o0, {STRAND_STS_ID_SHIFT}, %o0
    and     %o0, {STRAND_STS_ID_MASK}, %o0
    brnz,pn %o0, 2f                 ! only the boot strand sets up memory
    nop
    SETX    __data_load, %g2, %g1   ! copy .data from the PROM to HV RAM
    SETX    __data_start, %g2, %g3
    SETX    __data_end, %g2, %g4
1:  cmp     %g3, %g4
    bgeu,pn %xcc, 1f
    nop
    ldx     [%g1], %g5
    stx     %g5, [%g3]
    add     %g1, 8, %g1
    ba      1b
    add     %g3, 8, %g3
1:  SETX    __bss_start, %g2, %g3   ! zero .bss
    SETX    __bss_end, %g2, %g4
1:  cmp     %g3, %g4
    bgeu,pn %xcc, 2f
    nop
    stx     %g0, [%g3]
    ba      1b
    add     %g3, 8, %g3
2:  SETX    hv_strands, %g2, %g1    ! %g1 = &hv_strands[id]
    mulx    %o0, {STRAND_SIZE}, %g3
    add     %g1, %g3, %g1
    mov     {HSCRATCH_STRAND}, %g3
    stxa    %g1, [%g3] {ASI_HSCRATCHPAD}
    SETX    hv_stacks, %g2, %g3     ! top of this strand's stack, biased
    add     %o0, 1, %g4
    sllx    %g4, {STACK_SHIFT}, %g4
    add     %g3, %g4, %g3
    sub     %g3, {STACK_BIAS} + {MIN_FRAME}, %sp
    stx     %sp, [%g1 + {S_STACK_TOP}]
    stx     %o0, [%g1 + {S_STRAND_ID}]
    mov     1, %g3
    stx     %g3, [%g1 + {S_IN_HV}]
    call    hv_start                ! hv_start(strand, ram_size) -> !
    nop

! ---------------------------------------------------------------------------------------
! The hyperprivileged trap table: 512 entries of 32 bytes at HTBA (16 KiB aligned).
.section .text.htraptable, "ax"
.balign {HTBA_ALIGN}
.global hv_trap_table
hv_trap_table:
    COMMON_TO 0, {TT_FAST_IMISS}

    ! fast_instruction_access_MMU_miss, fast_data_access_MMU_miss (BIG: 4 entries each)
    .if {FAST_PATHS}
    ba,a    hv_itlb_miss_fast
    AT      {TT_FAST_DMISS}
    ba,a    hv_dtlb_miss_fast
    .else
    COMMON_TO {TT_FAST_IMISS}, {TT_FAST_PROT}   ! (HV_NO_FAST=1)
    .endif
    AT      {TT_FAST_PROT}
    COMMON_TO {TT_FAST_PROT}, {TT_SPILL_0_NORMAL}

    ! spill_0_normal: a hypervisor window to the hypervisor stack.
    STRAND  %g1
    ldx     [%g1 + {S_IN_HV}], %g1
    brz,pn  %g1, hv_trap_common     ! a guest spill at TL > MAXPTL: not ours
    nop
    SPILL_WINDOW_64
    AT      {TT_SPILL_0_NORMAL} + {WINDOW_TRAP_ENTRIES}
    COMMON_TO {TT_SPILL_0_NORMAL} + {WINDOW_TRAP_ENTRIES}, {TT_SPILL_1_OTHER}

    ! spill_1_other: a guest window, into the strand's window stash.
    ba,a    hv_spill_other
    AT      {TT_SPILL_1_OTHER} + {WINDOW_TRAP_ENTRIES}
    COMMON_TO {TT_SPILL_1_OTHER} + {WINDOW_TRAP_ENTRIES}, {TT_FILL_0_NORMAL}

    ! fill_0_normal: a hypervisor window from the hypervisor stack.
    STRAND  %g1
    ldx     [%g1 + {S_IN_HV}], %g1
    brz,pn  %g1, hv_trap_common
    nop
    FILL_WINDOW_64
    AT      {TT_FILL_0_NORMAL} + {WINDOW_TRAP_ENTRIES}
    COMMON_TO {TT_FILL_0_NORMAL} + {WINDOW_TRAP_ENTRIES}, {TT_FAST_TRAP}

    ! ta 0x80, fast trap. While the domain has Core 1.x (its `core_1` word, read in place),
    ! cpu_myid and cons_putchar may be answered in assembly; everything else goes to the
    ! common path.
    .if {FAST_PATHS}
    HV_PSTATE
    STRAND  %g1
    ldx     [%g1 + {S_CORE_1}], %g2
    ldx     [%g2], %g2
    brz,pn  %g2, hv_trap_common
    cmp     %o5, {FN_CPU_MYID}
    ba,a    hv_fast_trap
    AT      {TT_FAST_TRAP} + 1
    COMMON_TO {TT_FAST_TRAP} + 1, {TT_MMU_MAP_ADDR}
    HV_PSTATE
    ba,a    hv_mmu_map_addr_fast    ! ta 0x83 mmu_map_addr
    AT      {TT_MMU_UNMAP_ADDR}
    HV_PSTATE
    ba,a    hv_mmu_unmap_addr_fast  ! ta 0x84 mmu_unmap_addr
    .else
    COMMON_TO {TT_FAST_TRAP}, {TT_MMU_UNMAP_ADDR} + 1   ! (HV_NO_FAST=1)
    .endif
    AT      {TT_MMU_UNMAP_ADDR} + 1
    COMMON_TO {TT_MMU_UNMAP_ADDR} + 1, {TT_ENTRIES}    ! up to the core trap, ta 0xff
    AT      {TT_ENTRIES}

! ---------------------------------------------------------------------------------------
! Common trap path: save the guest's state into the strand's TrapFrame, make the guest's
! windows "other", switch to the hypervisor stack and call hv_trap(strand).
! (same section as the table: branches from the table resolve without relocations)
hv_trap_common:
    STRAND  %g1
    ldx     [%g1 + {S_IN_HV}], %g2
    brnz,pn %g2, hv_trap_in_hv
    mov     1, %g2
    stx     %g2, [%g1 + {S_IN_HV}]
    STORE8 o, %g1, {F_O}
    rdpr    %tt, %g6
    stx     %g6, [%g1 + {F_TT}]
    rdpr    %tl, %g2
    stx     %g2, [%g1 + {F_TL}]
    rdpr    %tpc, %g2
    stx     %g2, [%g1 + {F_TPC}]
    rdpr    %tnpc, %g2
    stx     %g2, [%g1 + {F_TNPC}]
    rdpr    %tstate, %g2
    stx     %g2, [%g1 + {F_TSTATE}]
    rdpr    %tba, %g2
    stx     %g2, [%g1 + {F_TBA}]
    cmp     %g6, {TT_FIRST_HCALL}   ! hypercalls (the ta 0x80 .. 0xff trap types)
    bgeu,pt %xcc, 1f                ! need no MMU registers
    mov     {MMU_TAG_ACCESS}, %g3
    ldxa    [%g3] {ASI_IMMU}, %g2
    stx     %g2, [%g1 + {F_I_TAG_ACCESS}]
    ldxa    [%g3] {ASI_DMMU}, %g2
    stx     %g2, [%g1 + {F_D_TAG_ACCESS}]
    mov     {MMU_SFSR}, %g3
    ldxa    [%g3] {ASI_DMMU}, %g2
    stx     %g2, [%g1 + {F_D_SFSR}]
    ldxa    [%g3] {ASI_IMMU}, %g2
    stx     %g2, [%g1 + {F_I_SFSR}]
    mov     {MMU_SFAR}, %g3
    ldxa    [%g3] {ASI_DMMU}, %g2
    stx     %g2, [%g1 + {F_D_SFAR}]
1:  rdpr    %cwp, %g2
    stx     %g2, [%g1 + {S_CWP}]
    rdpr    %cansave, %g2
    stx     %g2, [%g1 + {S_CANSAVE}]
    rdpr    %canrestore, %g3
    stx     %g3, [%g1 + {S_CANRESTORE}]
    rdpr    %otherwin, %g4
    stx     %g4, [%g1 + {S_OTHERWIN}]
    or      %g2, %g3, %g5           ! V9: each below NWINDOWS and
    or      %g5, %g4, %g5           ! CANSAVE + CANRESTORE + OTHERWIN = NWINDOWS - 2
    andn    %g5, {NWINDOWS} - 1, %g5
    add     %g2, %g3, %g6
    add     %g6, %g4, %g6
    sub     %g6, {NWINDOWS} - 2, %g6
    or      %g5, %g6, %g5
    brz,pt  %g5, 1f
    stx     %g0, [%g1 + {F_BAD_WINDOWS}]
    mov     1, %g5                  ! a guest that broke its window registers: its
    stx     %g5, [%g1 + {F_BAD_WINDOWS}]    ! windows are lost, it has failed
1:  rdpr    %cleanwin, %g2
    stx     %g2, [%g1 + {S_CLEANWIN}]
    rdpr    %wstate, %g2
    stx     %g2, [%g1 + {S_WSTATE}]
    stx     %g0, [%g1 + {S_STASH_COUNT}]
    ! Every window is the guest's. The hypervisor runs in the trapping window c (its %o
    ! are saved above) and from c+1 on. The entry stashes c+1's locals and %o (= c+2's
    ! %i; c+1's %i are c's %o); the first spill stashes c+2's locals (hv_spill_other),
    ! and every spill the window it spills: the windows from c+3 on are OTHER.
    rdpr    %cwp, %g2
    add     %g2, 1, %g3
    and     %g3, {NWINDOWS} - 1, %g3
    wrpr    %g3, %cwp               ! c+1
    STORE8 l, %g1, {S_ENTRY_WINDOWS} + {E_C1_LOCALS}
    STORE8 o, %g1, {S_ENTRY_WINDOWS} + {E_C1_OUTS}
    wrpr    %g2, %cwp               ! c
    wrpr    %g0, 1, %cansave        ! c+1 free, c+2 reserved, c+3 .. c+7 OTHER
    wrpr    %g0, 0, %canrestore
    wrpr    %g0, {NWINDOWS} - 3, %otherwin
    wrpr    %g0, {NWINDOWS} - 1, %cleanwin  ! the hypervisor needs no clean windows
    wrpr    %g0, {WSTATE_HV}, %wstate   ! OTHER 1 (stash), NORMAL 0 (hypervisor stack)
    ldx     [%g1 + {S_STACK_TOP}], %sp
    call    hv_trap                 ! hv_trap(&mut StrandState); returns to resume
    mov     %g1, %o0

    ! Back in window c.
    STRAND  %g1
    ldx     [%g1 + {S_STASH_COUNT}], %g2
    brz,pt  %g2, 3f                 ! nothing spilled: c+2 was not entered
    ldx     [%g1 + {S_CWP}], %g5
    add     %g1, {S_STASH}, %g3
1:  ldx     [%g3 + {W_CWP}], %g4    ! load every stashed guest window back
    wrpr    %g4, %cwp
    LOAD8 l, %g3, {W_LOCALS}
    LOAD8 i, %g3, {W_INS}
    sub     %g2, 1, %g2
    brnz,pt %g2, 1b
    add     %g3, {STASH_ENTRY}, %g3
    add     %g5, 2, %g3             ! c+2's locals
    and     %g3, {NWINDOWS} - 1, %g3
    wrpr    %g3, %cwp
    LOAD8 l, %g1, {S_ENTRY_WINDOWS} + {E_C2_LOCALS}
3:  add     %g5, 1, %g3             ! c+1's locals and %o
    and     %g3, {NWINDOWS} - 1, %g3
    wrpr    %g3, %cwp
    LOAD8 l, %g1, {S_ENTRY_WINDOWS} + {E_C1_LOCALS}
    LOAD8 o, %g1, {S_ENTRY_WINDOWS} + {E_C1_OUTS}
    wrpr    %g5, %cwp               ! c: its %o from the trap frame
    LOAD8 o, %g1, {F_O}
    ldx     [%g1 + {S_CANSAVE}], %g2
    wrpr    %g2, %cansave
    ldx     [%g1 + {S_CANRESTORE}], %g2
    wrpr    %g2, %canrestore
    ldx     [%g1 + {S_OTHERWIN}], %g2
    wrpr    %g2, %otherwin
    ldx     [%g1 + {S_CLEANWIN}], %g2
    wrpr    %g2, %cleanwin
    ldx     [%g1 + {S_WSTATE}], %g2
    wrpr    %g2, %wstate
    stx     %g0, [%g1 + {S_IN_HV}]
    .if {RESUME_DONE} != 0
    .error "RESUME_DONE must be 0 for the brnz below"
    .endif
    ldx     [%g1 + {F_RESUME}], %g2
    brnz,pn %g2, 3f
    nop
    done                            ! RESUME_DONE: after the trapping instruction
3:  cmp     %g2, {RESUME_RETRY}
    bne,pn  %xcc, 4f
    nop
    retry                           ! RESUME_RETRY: the trapping instruction again
4:  cmp     %g2, {RESUME_DONE_AT}
    bne,pn  %xcc, 5f
    nop
    ldx     [%g1 + {F_TARGET_PC}], %g2   ! RESUME_DONE_AT: continue at target_pc
    wrpr    %g2, %tnpc
    done
5:  ldx     [%g1 + {F_TARGET_TT}], %g2   ! RESUME_REVECTOR: into the guest's trap table
    wrpr    %g2, %tt
    ldx     [%g1 + {F_TARGET_PC}], %g2
    wrpr    %g0, {PSTATE_PRIV_PEF}, %pstate  ! as a trap sets them
    jmp     %g2
    WRHPR   0, {HPR_HPSTATE}                    ! delay slot: %hpstate = 0, the guest's mode

! spill_1_other: a guest window into the strand's window stash (never to the guest's
! stack, which may be a virtual address). The first spill of a trap (the hypervisor
! leaving c+1 for c+2, spilling c+3) also stashes c+2's locals, which the entry path left
! in place.
hv_spill_other:
    STRAND  %g1
    ldx     [%g1 + {S_IN_HV}], %g2
    brz,pn  %g2, hv_trap_common     ! a guest spill at TL > MAXPTL: not ours
    ldx     [%g1 + {S_STASH_COUNT}], %g2
    brnz,pt %g2, 1f
    rdpr    %cwp, %g4
    sub     %g4, 1, %g3
    and     %g3, {NWINDOWS} - 1, %g3
    wrpr    %g3, %cwp               ! c+2
    STORE8 l, %g1, {S_ENTRY_WINDOWS} + {E_C2_LOCALS}
    wrpr    %g4, %cwp               ! the window to spill
1:  mulx    %g2, {STASH_ENTRY}, %g3
    add     %g3, %g1, %g3
    add     %g3, {S_STASH}, %g3     ! %g3 = &stash[count]
    add     %g2, 1, %g2
    stx     %g2, [%g1 + {S_STASH_COUNT}]
    stx     %g4, [%g3 + {W_CWP}]
    STORE8 l, %g3, {W_LOCALS}
    STORE8 i, %g3, {W_INS}
    saved
    retry

! The rules the common path applies before it answers a trap, for the fast paths: the
! guest's trap level at most MAXPTL (our TL at most MAXPTL + 1) and its window registers
! consistent (each in 0 .. NWINDOWS - 1 and CANSAVE + CANRESTORE + OTHERWIN = NWINDOWS - 2,
! the common path's bad_windows test); anything else goes to the common path, which
! applies the failure policy. The sum alone is not enough: QEMU keeps these registers in
! 32 bits and `rdpr` sign-extends them, so CANSAVE 0xffffffff with CANRESTORE 7 sums to 6;
! with the sum 6, no register negative bounds each. The instruction after the macro runs
! in the delay slot of its last branch, also on the way to the common path: it must
! touch no guest register. Out: %g3 = TL. Uses %g4, %g5, %g6.
.macro GUEST_STATE_CHECK
    rdpr    %tl, %g3
    cmp     %g3, {MAXPTL} + 1
    bgu,pn  %xcc, hv_trap_common
    rdpr    %cansave, %g4
    rdpr    %canrestore, %g5
    add     %g4, %g5, %g6           ! %g6: the sum
    or      %g4, %g5, %g4           ! %g4: the sign bits
    rdpr    %otherwin, %g5
    add     %g6, %g5, %g6
    or      %g4, %g5, %g4
    brlz,pn %g4, hv_trap_common
    cmp     %g6, {NWINDOWS} - 2
    bne,pn  %xcc, hv_trap_common
.endm

hv_fast_trap:                       ! %g1 strand; the condition codes compare %o5 and cpu_myid
    be,pn   %xcc, hv_cpu_myid_fast
    cmp     %o5, {FN_CONS_PUTCHAR}
    be,pt   %xcc, hv_cons_putchar_fast
    nop
    ba,a    hv_trap_common

hv_cpu_myid_fast:
    GUEST_STATE_CHECK
    ldx     [%g1 + {S_VID}], %g2
    mov     %g2, %o1
    mov     {EOK}, %o0
    done

! cons_putchar: a character 0-255 and an idle transmitter; anything else (BREAK, a bad
! value, a busy UART, several domains) is the Rust path's.
hv_cons_putchar_fast:
    GUEST_STATE_CHECK
    ldx     [%g1 + {S_CONSOLE}], %g3
    brz,pn  %g3, hv_trap_common
    cmp     %o0, 0xff
    bgu,pn  %xcc, hv_trap_common
    nop
    ldub    [%g3 + {UART_LSR}], %g4
    andcc   %g4, {LSR_THR_EMPTY}, %g0    ! transmitter empty?
    be,pn   %xcc, hv_trap_common
    nop
    stb     %o0, [%g3 + {UART_THR}]
    mov     {EOK}, %o0
    done

! Checks shared by mmu_map_addr and mmu_unmap_addr: context below 8192, flags 1-3, VA in
! the 48-bit sign-extended range; otherwise the Rust path answers EINVAL.
.macro MAP_ARGS_CHECK flags
    srlx    %o1, {CONTEXT_BITS}, %g2
    brnz,pn %g2, hv_trap_common
    sub     \flags, 1, %g2
    cmp     %g2, {MAP_BOTH} - 1
    bgu,pn  %xcc, hv_trap_common
    sllx    %o0, 64 - {VA_BITS}, %g2
    srax    %g2, 64 - {VA_BITS}, %g2
    cmp     %g2, %o0
    bne,pn  %xcc, hv_trap_common
    nop
.endm

! mmu_map_addr (ta 0x83): %o0 VA, %o1 context, %o2 TTE, %o3 flags. A valid 8K/64K/4M TTE
! whose page lies in the domain is loaded with its physical address (lock bit cleared,
! tag aligned to the page); anything else (errors, 256M pages) is the Rust path's.
hv_mmu_map_addr_fast:
    GUEST_STATE_CHECK
    STRAND  %g1
    MAP_ARGS_CHECK %o3
    brgez,pn %o2, hv_trap_common    ! valid bit
    nop
    TTE_SIZE_ENTRY %o2
    TTE_FOR_TLB %o2, {PS_PAGE_MASK}
    and     %o0, %g4, %g2
    or      %g2, %o1, %g2           ! tag access: page VA | context
    mov     {MMU_TAG_ACCESS}, %g5
    mov     {TLB_DATA_IN_SUN4V}, %g6
    andcc   %o3, {MAP_DTLB}, %g0
    be,pn   %xcc, 1f
    nop
    stxa    %g2, [%g5] {ASI_DMMU}
    stxa    %g7, [%g6] {ASI_DTLB_DATA_IN}
1:  andcc   %o3, {MAP_ITLB}, %g0
    be,pn   %xcc, 2f
    nop
    stxa    %g2, [%g5] {ASI_IMMU}
    stxa    %g7, [%g6] {ASI_ITLB_DATA_IN}
2:  mov     {EOK}, %o0
    done

! mmu_unmap_addr (ta 0x84): %o0 VA, %o1 context, %o2 flags. Demaps the page through the
! primary context register; a page of a permanent mapping (context 0) is the Rust path's,
! which loads the permanent mapping again.
hv_mmu_unmap_addr_fast:
    GUEST_STATE_CHECK
    STRAND  %g1
    MAP_ARGS_CHECK %o2
    brnz,pt %o1, 2f                 ! permanent mappings are context 0
    ldx     [%g1 + {S_MMU}], %g4    ! the vCPU's FastMmu
    ldx     [%g4 + {FM_PERM_COUNT}], %g3
    add     %g4, {FM_PERMS}, %g4
1:  brz,pt  %g3, 2f
    ldx     [%g4 + {PERM_MASK}], %g5
    and     %o0, %g5, %g5
    ldx     [%g4 + {PERM_VA}], %g6
    cmp     %g5, %g6
    be,pn   %xcc, hv_trap_common
    sub     %g3, 1, %g3
    ba      1b
    add     %g4, {PERM_SIZE}, %g4
2:  srlx    %o0, {PAGE_SHIFT_8K}, %g2   ! the 8K page of VA, demap type page, primary
    sllx    %g2, {PAGE_SHIFT_8K}, %g2   ! context
    mov     {PRIMARY_CONTEXT}, %g5
    ldxa    [%g5] {ASI_MMU_CONTEXT}, %g6    ! save the primary context
    stxa    %o1, [%g5] {ASI_MMU_CONTEXT}
    andcc   %o2, {MAP_DTLB}, %g0
    be,pn   %xcc, 3f
    nop
    stxa    %g0, [%g2] {ASI_DMMU_DEMAP}
3:  andcc   %o2, {MAP_ITLB}, %g0
    be,pn   %xcc, 4f
    nop
    stxa    %g0, [%g2] {ASI_IMMU_DEMAP}
4:  stxa    %g6, [%g5] {ASI_MMU_CONTEXT}
    mov     {EOK}, %o0
    done

! TLB-miss fast path: in a guest state the common path would answer (GUEST_STATE_CHECK),
! the guest's TSB entry for the faulting address is found, checked (valid, size
! 8K/64K/4M, for the ITLB executable, real address inside the domain) and loaded; anything
! else (256M pages, bad TTEs, permanent mappings, the states the common path refuses) goes
! to the Rust slow path, which handles every case; no entry: TSB_MISS_REVECTOR.
! Registers: %g1 strand, %g2 tag access, %g3 TL (from GUEST_STATE_CHECK), %g4 the vCPU's
! FastMmu plus the offset of the context class's TSBs (0 or 2 TSBs), %g5-%g7 scratch.

! One TSB (the FastTsb at %g4 + \slot): a hit falls through with %g7 the TTE and %g5 the
! TTE's size code shifted for TTE_SIZE_ENTRY (the delay slots start it: harmless on the
! way to \next, whose first instruction sets %g5); anything else goes to \next.
.macro TSB_PROBE mmu_asi, slot, next
    ldx     [%g4 + \slot + {TSB_BASE_PA}], %g5    ! 0: none
    brz,pn  %g5, \next
    ldx     [%g4 + \slot + {TSB_OFFSET_SHIFT}], %g6
    srlx    %g2, %g6, %g6
    ldx     [%g4 + \slot + {TSB_OFFSET_MASK}], %g7
    and     %g6, %g7, %g6           ! the entry's offset
    add     %g5, %g6, %g5
    ldda    [%g5] {ASI_QUAD_LDD_REAL}, %g6  ! %g6 = tag, %g7 = TTE
    ldxa    [%g0] \mmu_asi, %g5     ! tag target (VA {MMU_TAG_TARGET}): ctx << 48 | VA >> 22
    xor     %g5, %g6, %g6           ! tag target and tag, compared in the kept bits
    ldx     [%g4 + \slot + {TSB_TAG_MASK}], %g5    ! context compared or not
    andcc   %g6, %g5, %g0
    bne,pn  %xcc, \next
    and     %g7, {TTE_SZ_MASK}, %g5
    brgez,pn %g7, \next            ! valid bit
    sllx    %g5, {PS_SHIFT}, %g5
.endm

! Both TSBs missed: revector to the guest as the sun4v spec says, with the fault status
! area filled: the slow miss (TT 0x09 / 0x31, type MMU_MISS) when the context class has
! TSBs, the fast miss (TT 0x64 / 0x68, address and context only) when it has none. With no
! fault area, or above MAXPTL, the Rust path applies the failure policy.
! In: %g1 strand, %g2 tag access, %g3 TL, %g4 as in TSB_PROBE.
.macro TSB_MISS_REVECTOR is_insn, fast_tt, slow_tt, ft_off, fa_off, fc_off
    ldx     [%g1 + {S_MMU}], %g5
    ldx     [%g5 + {FM_FAULT_AREA}], %g5
    brz,pn  %g5, hv_trap_common
    cmp     %g3, {MAXPTL}           ! the guest's handler would run at our TL: above
    bgu,pn  %xcc, hv_trap_common    ! MAXPTL, the guest has failed (the Rust path says)
    sllx    %g2, 64 - {CONTEXT_BITS}, %g7
    srlx    %g7, 64 - {CONTEXT_BITS}, %g7   ! context
    stx     %g7, [%g5 + \fc_off]
    ldx     [%g4 + {FM_TSBS} + {TSB_BASE_PA}], %g6 ! first TSB of the class: configured?
    brz,pn  %g6, 5f
    andn    %g2, %g7, %g6           ! page VA
    .if \is_insn
    rdpr    %tpc, %g6               ! the slow instruction miss reports the PC
    .endif
    stx     %g6, [%g5 + \fa_off]
    mov     {FT_MMU_MISS}, %g6
    stx     %g6, [%g5 + \ft_off]
    mov     \slow_tt, %g7
2:  wrpr    %g7, %tt
    rdpr    %tba, %g5
    srlx    %g5, {TBA_SHIFT}, %g5
    sllx    %g5, {TBA_SHIFT}, %g5
    sllx    %g7, {TRAP_ENTRY_SHIFT}, %g7
    add     %g5, %g7, %g5
    cmp     %g3, 1
    be,pt   %xcc, 3f
    sethi   %hi({TBA_TL_GT_0}), %g6
    add     %g5, %g6, %g5           ! trap taken at TL > 0: the upper half
3:  jmp     %g5
    WRHPR   0, {HPR_HPSTATE}                    ! delay slot: back to the guest's privilege
5:  stx     %g6, [%g5 + \fa_off]    ! the fast miss: address and context only
    ba      2b
    mov     \fast_tt, %g7
.endm

.macro TLB_MISS_FAST mmu_asi, data_in_asi, check_x, is_insn, fast_tt, slow_tt, ft_off, fa_off, fc_off
    GUEST_STATE_CHECK
    STRAND  %g1                     ! (its first instruction in the check's delay slot)
    mov     {MMU_TAG_ACCESS}, %g2
    ldxa    [%g2] \mmu_asi, %g2     ! tag access: VA | ctx
    sllx    %g2, 64 - {CONTEXT_BITS}, %g4   ! context 0 or not: pick the TSBs
    movrnz  %g4, 2 * {TSB_SIZE}, %g4
    ldx     [%g1 + {S_MMU}], %g5    ! the vCPU's FastMmu
    add     %g4, %g5, %g4
    TSB_PROBE \mmu_asi, {FM_TSBS}, 1f
2:
    .if \check_x
    andcc   %g7, {TTE_X}, %g0       ! ITLB: executable
    be,pn   %xcc, hv_trap_common
    .endif
    add     %g5, %g1, %g5           ! (TTE_SIZE_ENTRY's last step)
    TTE_FOR_TLB %g7, {PS_TAG_MASK}
    and     %g2, %g4, %g2           ! tag access aligned to the page (QEMU 7.2,
    mov     {MMU_TAG_ACCESS}, %g5   ! qemu-niagara.md section 13)
    stxa    %g2, [%g5] \mmu_asi
    mov     {TLB_DATA_IN_SUN4V}, %g5
    stxa    %g7, [%g5] \data_in_asi
    retry
1:  TSB_PROBE \mmu_asi, {FM_TSBS} + {TSB_SIZE}, 4f
    ba,a    2b
4:  TSB_MISS_REVECTOR \is_insn, \fast_tt, \slow_tt, \ft_off, \fa_off, \fc_off
.endm

hv_dtlb_miss_fast:
    TLB_MISS_FAST {ASI_DMMU}, {ASI_DTLB_DATA_IN}, 0, 0, {TT_FAST_DMISS}, {TT_DMISS}, {FA_DFT}, {FA_DFA}, {FA_DFC}
hv_itlb_miss_fast:
    TLB_MISS_FAST {ASI_IMMU}, {ASI_ITLB_DATA_IN}, 1, 1, {TT_FAST_IMISS}, {TT_IMISS}, {FA_IFT}, {FA_IFA}, {FA_IFC}

! A trap while the hypervisor itself runs (not a window trap): report and park.
hv_trap_in_hv:
    rdpr    %tt, %o0
    rdpr    %tpc, %o1
    rdpr    %tl, %o2
    rdpr    %tstate, %o3
    wrpr    %g0, {NWINDOWS} - 2, %cansave
    wrpr    %g0, 0, %canrestore
    wrpr    %g0, 0, %otherwin
    wrpr    %g0, {NWINDOWS} - 1, %cleanwin
    wrpr    %g0, 0, %wstate
    wrpr    %g0, {PSTATE_PRIV_PEF}, %pstate
    ldx     [%g1 + {S_STACK_TOP}], %sp
    call    hv_fatal_trap           ! -> !
    nop

! ---------------------------------------------------------------------------------------
! hv_launch_guest(&LaunchState, &mut StrandState) -> !: enter a guest as the sun4v spec
! starts a vCPU (hv-api.md §4.7): TL = MAXPTL, GL = MAXPGL, PSTATE = PRIV (TSO, IE = 0,
! PEF = 0), PIL 15, MMU off, %tba = RTBA, %o0 = start argument, %i0/%i1 = memory base and
! size, scratchpad 0x08 = the vCPU id. QEMU 7.2 ignores HTSTATE, so the entry clears %hpstate in the jmp's delay slot.
.global hv_launch_guest
hv_launch_guest:
    stx     %g0, [%o1 + {S_IN_HV}]
    mov     %o0, %g1
    wrpr    %g0, 0, %cwp
    wrpr    %g0, {NWINDOWS} - 2, %cansave
    wrpr    %g0, 0, %canrestore
    wrpr    %g0, 0, %otherwin
    wrpr    %g0, {NWINDOWS} - 2, %cleanwin
    wrpr    %g0, 0, %wstate
    ldx     [%g1 + {L_RTBA}], %g2
    wrpr    %g2, %tba
    wrpr    %g0, {PIL_MAX}, %pil
    wr      %g0, 0, %fprs
    stxa    %g0, [%g0] {ASI_LSU_CONTROL}    ! MMU off
    mov     {PRIMARY_CONTEXT}, %g2
    stxa    %g0, [%g2] {ASI_MMU_CONTEXT}
    mov     {SECONDARY_CONTEXT}, %g2
    stxa    %g0, [%g2] {ASI_MMU_CONTEXT}
    ldx     [%g1 + {L_CPUID}], %g3
    mov     {SCRATCHPAD_CPUID}, %g2
    stxa    %g3, [%g2] {ASI_SCRATCHPAD}     ! the guest's CPU id, where it reads it
    ldx     [%g1 + {L_PC}], %l0
    ldx     [%g1 + {L_O0}], %o0
    ldx     [%g1 + {L_I0}], %i0
    ldx     [%g1 + {L_I1}], %i1
    clr     %l1
    clr     %l2
    clr     %l3
    clr     %l4
    clr     %l5
    clr     %l6
    clr     %l7
    clr     %i2
    clr     %i3
    clr     %i4
    clr     %i5
    clr     %i6
    clr     %i7
    clr     %o1
    clr     %o2
    clr     %o3
    clr     %o4
    clr     %o5
    clr     %o6
    clr     %o7
    wrpr    %g0, {MAXPTL}, %tl
    wrpr    %g0, {MAXPGL}, %gl
    wrpr    %g0, {PSTATE_PRIV}, %pstate
    jmp     %l0
    WRHPR   0, {HPR_HPSTATE}                    ! delay slot: %hpstate = 0

! hv_read_hver() -> u64: the hypervisor version register (`%hver`; stock QEMU: 0).
.global hv_read_hver
hv_read_hver:
    retl
    RDHPR   {HPR_HVER}, 8                       ! delay slot: %o0 = %hver

! hv_write_hstick_cmpr(value): this strand's hyperprivileged timer compare register.
.global hv_write_hstick_cmpr
hv_write_hstick_cmpr:
    retl
    WRHPR   8, {HPR_HSTICK_CMPR}                ! delay slot: %hstick_cmpr = %o0

! hv_clear_hintp(): clears the pending hstick_match interrupt.
.global hv_clear_hintp
hv_clear_hintp:
    retl
    WRHPR   0, {HPR_HINTP}                      ! delay slot: %hintp = 0
