! sun4v-checks: a hyperprivileged reset.bin that checks the UltraSPARC T1 features of the
! patched QEMU (qemu-sun4v/patches) on -M niagara -smp 4. See main.rs and
! docs/qemu-sun4v.md.
!
! Layout of the image (linked at the PROM base, at most 64 KiB):
!   0x0000  reset vectors (+0x20 power-on, +0x40 later resets), then the code
!   0x4000  hyperprivileged trap table (HTBA, 16 KiB aligned)
!   0x8000  privileged trap table (TBA, 32 KiB aligned; entries 0x00-0x7f only)
!
! Strand 0 runs the checks and prints one line each; strands 1-3 run a service loop with
! PSTATE.IE = 1 and answer through their mailbox in HV RAM. Every cross-strand wait is a
! handshake on a mailbox word, bounded by a 20 s STICK deadline (wait_eq).
!
! Registers: main code uses %l0-%l7, %o0-%o7 and %g5-%g7 at GL 0; trap handlers run at
! GL 1 and use only %g1-%g7. %l7 counts failed checks.

! Hyperprivileged registers (rdhpr/wrhpr numbers) and register numbers for the macros.
.equ HPR_HPSTATE, 0
.equ HPR_HTSTATE, 1
.equ HPR_HINTP, 3
.equ HPR_HTBA, 5
.equ HPR_HVER, 6
.equ HPR_HSTICK_CMPR, 31
.equ R_G0, 0
.equ R_G1, 1
.equ R_G4, 4
.equ R_O0, 8
.equ R_L0, 16

.equ UART, 0x1f10000000
.equ IOB_INT_VEC_DIS, 0x9800000800
.equ T_INT, 0 << 16
.equ T_RESET, 1 << 16
.equ T_IDLE, 2 << 16
.equ T_RESUME, 3 << 16
.equ ASI_REAL_IO, 0x15
.equ ASI_QUEUE, 0x25
.equ ASI_INTR_RCV, 0x72
.equ ASI_INTR_UDB_R, 0x74
.equ Q_CPU_HEAD, 0x3c0
.equ Q_CPU_TAIL, 0x3c8

! HV RAM: a 256-byte mailbox per strand, the cpu mondo queue, the round-trip samples.
.equ MBOX, 0x100000
.equ M_ASR, 0x00
.equ M_CMD, 0x08
.equ M_IDLING, 0x10
.equ M_RESUMED, 0x18
.equ M_VEC, 0x20
.equ M_NINTR, 0x28
.equ M_RCV, 0x30
.equ M_COUNTER, 0x38
.equ M_TT, 0x40
.equ M_HINTP, 0x48
.equ M_HSTICK, 0x50
.equ M_CONT, 0x58
.equ M_HTSTATE, 0x60
.equ M_BOOTS, 0x68
.equ M_QHEAD, 0x70
.equ M_QTAIL, 0x78
.equ M_QWORD, 0x80
.equ M_QTT, 0x88
.equ M_MONDO, 0x90
.equ M_DAE, 0x98
.equ M_RMISS, 0xa0
.equ M_RTAG, 0xa8
.equ QUEUE, 0x200000
.equ PART, 0x80000000               ! partition RAM (-m)
.equ TTE_V, 1 << 63
.equ TTE_P, 1 << 8
.equ TTE_W, 1 << 6
.equ LSU_DM, 1 << 3
.equ PROM, 0xfff0000000
.equ PARTITION_ID_VA, 0x80
.equ RTT, 0x300000
.equ DECBUF, 0x380040
.equ N_RTT, 100
.equ MONDO_MAGIC, 0x5a5a0123
.equ V_TEST, 0x2a
.equ V_SELF, 0x11
.equ V_PING, 0x3f
.equ V_PONG, 0x3e

! The mailbox of the strand running this code -> \reg (uses \tmp).
.macro MYBOX tmp, reg
    rd    %asr26, \reg
    srlx  \reg, 8, \reg
    and   \reg, 0x1f, \reg
    sllx  \reg, 8, \reg
    sethi %hi(MBOX), \tmp
    add   \reg, \tmp, \reg
.endm

.macro PRINT label
    SETX  \label, %o1, %o0
    call  puts
    nop
.endm

! %o0 = pass (nonzero) or fail; prints the verdict line for the check named \label.
.macro VERDICT label
    SETX  \label, %o2, %o1
    call  verdict
    nop
.endm

! %o0 = 1 if [\addr] becomes \val within 20 s, else 0.
.macro WAIT_EQ addr, val
    SETX  \addr, %o2, %o0
    SETX  \val, %o2, %o1
    call  wait_eq
    nop
.endm

! Store the INT_VEC_DIS word \type | \strand << 8 | \vec (uses %o3-%o5).
.macro IOB type, strand, vec
    SETX  (\type | (\strand << 8) | \vec), %o5, %o3
    SETX  IOB_INT_VEC_DIS, %o5, %o4
    stx   %o3, [%o4]
.endm

.macro HT_GO label
    ba,a  \label
    nop
    nop
    nop
    nop
    nop
    nop
    nop
.endm
.macro HT_UNEXPECTED n
    .rept \n
    HT_GO unexpected_trap
    .endr
.endm

.section .text.checks, "ax"
.global checks_reset
checks_reset:
    ba,a  start
    .org  0x20
    ba,a  start
    .org  0x40
    ba,a  start

start:
    wrpr  %g0, 0, %tl
    wrpr  %g0, 0, %gl
    wrpr  %g0, 0x14, %pstate        ! PRIV | PEF; RED and IE clear
    wrpr  %g0, 6, %cansave
    wrpr  %g0, 0, %canrestore
    wrpr  %g0, 0, %otherwin
    wrpr  %g0, 7, %cleanwin
    wrpr  %g0, 0, %wstate
    SETX  htraptable, %g2, %g1
    WRHPR R_G1, HPR_HTBA
    stxa  %g0, [%g0] 0x45           ! LSU control: MMUs off
    rd    %asr26, %g1
    srlx  %g1, 8, %g2
    and   %g2, 0x1f, %g2
    brnz,pn %g2, secondary
    nop

! ---------------------------------------------------------------------------------------
! Strand 0: the checks.
    sethi %hi(MBOX), %g3            ! clear the mailboxes of all 32 strands
    sethi %hi(MBOX + 0x2000), %g4
1:  stx   %g0, [%g3]
    add   %g3, 8, %g3
    cmp   %g3, %g4
    blu   1b
    nop
    mov   0, %l7
    PRINT s_start

    ! Partition 1, with identity real translations for what privileged code touches here
    ! (the PROM and the first 4 MB of HV RAM). They matter only with -M niagara,ra2pa=on;
    ! without it QEMU drops real TTEs and privileged code sees RA = PA.
    mov   PARTITION_ID_VA, %o1
    mov   1, %o0
    stxa  %o0, [%o1] 0x58
    SETX  PROM, %o2, %o0
    SETX  (TTE_V | PROM | TTE_P | 3), %o2, %o1
    call  itlb_load_real
    nop
    SETX  PROM, %o2, %o0
    SETX  (TTE_V | PROM | TTE_P | 3), %o2, %o1
    call  dtlb_load_real
    nop
    mov   0, %o0
    SETX  (TTE_V | TTE_P | TTE_W | 3), %o2, %o1
    call  dtlb_load_real
    nop

    ! strand 0: %asr26 = ID 0, ACTIVE
    rd    %asr26, %l0
    cmp   %l0, 1
    mov   0, %o0
    move  %xcc, 1, %o0
    VERDICT c_asr26_0

    ! %hver: Sun (0x3e), UltraSPARC T1 (0x23), MAXGL 3, MAXTL 6, MAXWIN 7
    RDHPR HPR_HVER, R_L0
    PRINT s_hver
    mov   %l0, %o0
    call  puthex
    nop
    PRINT s_nl
    srlx  %l0, 32, %o1
    SETX  0x3e0023, %o3, %o2
    cmp   %o1, %o2
    mov   0, %o0
    move  %xcc, 1, %o0
    sllx  %l0, 40, %o1               ! MAXGL, MAXTL, MAXWIN (bits 23:0)
    srlx  %o1, 40, %o1
    set   0x30607, %o2
    cmp   %o1, %o2
    movne %xcc, 0, %o0
    VERDICT c_hver

    ! resume strands 1-3; each stores its %asr26 in its mailbox
    IOB   T_RESUME, 1, 0
    IOB   T_RESUME, 2, 0
    IOB   T_RESUME, 3, 0
    WAIT_EQ (MBOX + 0x100 + M_ASR), 0x101
    mov   %o0, %l1
    WAIT_EQ (MBOX + 0x200 + M_ASR), 0x201
    and   %l1, %o0, %l1
    WAIT_EQ (MBOX + 0x300 + M_ASR), 0x301
    and   %l1, %o0, %o0
    VERDICT c_resume

    ! interrupt vector 0x2a from strand 0 to strand 3: trap 0x60 in hyperprivileged mode,
    ! ASI_INTR_UDB_R returns 0x2a and ASI_INTR_RCV is clear afterwards
    IOB   T_INT, 3, V_TEST
    WAIT_EQ (MBOX + 0x300 + M_NINTR), 1
    mov   %o0, %l1
    SETX  (MBOX + 0x300), %o2, %l0
    ldx   [%l0 + M_VEC], %o1
    cmp   %o1, V_TEST
    movne %xcc, 0, %l1
    ldx   [%l0 + M_RCV], %o1
    movrnz %o1, 0, %l1
    ldx   [%l0 + M_TT], %o1
    cmp   %o1, 0x60
    movne %xcc, 0, %l1
    mov   %l1, %o0
    VERDICT c_ivec

    ! strand 2 idles itself through the IOB; it stays idle until strand 0 resumes it
    SETX  (MBOX + 0x200), %o2, %l0
    mov   1, %o1
    stx   %o1, [%l0 + M_CMD]
    WAIT_EQ (MBOX + 0x200 + M_IDLING), 1
    mov   %o0, %l1
    SETX  20000000, %o1, %o0        ! 0.2 s: it must not run meanwhile
    call  delay
    nop
    ldx   [%l0 + M_RESUMED], %o1
    movrnz %o1, 0, %l1
    IOB   T_RESUME, 2, 0
    WAIT_EQ (MBOX + 0x200 + M_RESUMED), 1
    and   %l1, %o0, %o0
    VERDICT c_idle

    ! strand 0 resets strand 1 through the IOB: it runs from the reset vector again
    IOB   T_RESET, 1, 0
    WAIT_EQ (MBOX + 0x100 + M_BOOTS), 2
    VERDICT c_reset

    ! hstick_match: HINTP.HSP and trap 0x5e in hyperprivileged mode (PSTATE.IE = 1)
    wrpr  %g0, 0x16, %pstate
    rd    %asr24, %o0
    sllx  %o0, 1, %o0               ! without STICK.NPT (bit 63)
    srlx  %o0, 1, %o0
    SETX  1000000, %o2, %o1         ! 10 ms
    add   %o0, %o1, %o0
    WRHPR R_O0, HPR_HSTICK_CMPR
    WAIT_EQ (MBOX + M_HSTICK), 1
    wrpr  %g0, 0x14, %pstate
    mov   %o0, %l1
    SETX  MBOX, %o2, %l0
    ldx   [%l0 + M_HINTP], %o1
    cmp   %o1, 1
    movne %xcc, 0, %l1
    ldx   [%l0 + M_TT], %o1
    cmp   %o1, 0x5e
    movne %xcc, 0, %l1
    RDHPR HPR_HINTP, R_O0
    movrnz %o0, 0, %l1
    mov   %l1, %o0
    VERDICT c_hstick

    ! an interrupt that became pending in the hypervisor (PSTATE.IE = 0) is not taken
    ! there, and is taken as soon as wrhpr %hpstate leaves hyperprivileged mode
    SETX  MBOX, %o2, %l0
    ldx   [%l0 + M_NINTR], %l2
    IOB   T_INT, 0, V_SELF
    membar #Sync
    nop
    nop
    ldx   [%l0 + M_NINTR], %l3
    sub   %l3, %l2, %l3             ! 0: not taken in the hypervisor
    SETX  1f, %o2, %o0
    stx   %o0, [%l0 + M_CONT]
    WRHPR R_G0, HPR_HPSTATE         ! privileged, PSTATE.IE = 0
    nop
    ldx   [%l0 + M_NINTR], %l4      ! read in privileged mode
    ta    0x80                      ! back to the hypervisor, at 1f
1:  wrpr  %g0, 0x14, %pstate
    sub   %l4, %l2, %l4
    mov   1, %l1
    movrnz %l3, 0, %l1
    cmp   %l4, 1
    movne %xcc, 0, %l1
    ldx   [%l0 + M_VEC], %o1
    cmp   %o1, V_SELF
    movne %xcc, 0, %l1
    ldx   [%l0 + M_HTSTATE], %o1    ! taken from privileged mode: HTSTATE.HPRIV = 0
    and   %o1, 4, %o1
    movrnz %o1, 0, %l1
    mov   %l1, %o0
    VERDICT c_hpstate

    ! a cpu mondo queued by the hypervisor reaches the privileged trap table at 0x7c
    ! when PSTATE.IE = 1 (not before), with the queue contents; the tail register is
    ! read-only to privileged code
    SETX  QUEUE, %o2, %l3
    SETX  MONDO_MAGIC, %o2, %o0
    stx   %o0, [%l3]
    mov   Q_CPU_HEAD, %o1
    stxa  %g0, [%o1] ASI_QUEUE
    mov   0x40, %o0
    mov   Q_CPU_TAIL, %o1
    stxa  %o0, [%o1] ASI_QUEUE
    SETX  guest_table, %o2, %o0
    wrpr  %o0, %tba
    SETX  1f, %o2, %o0
    stx   %o0, [%l0 + M_CONT]
    WRHPR R_G0, HPR_HPSTATE         ! privileged, PSTATE.IE = 0: no mondo yet
    nop
    ldx   [%l0 + M_MONDO], %l4
    wrpr  %g0, 0x16, %pstate        ! PSTATE.IE = 1: cpu_mondo now
    nop
    ta    0x80                      ! (not reached if the mondo was taken)
1:  wrpr  %g0, 0x14, %pstate
    mov   1, %l1
    movrnz %l4, 0, %l1
    ldx   [%l0 + M_MONDO], %o1
    cmp   %o1, 1
    movne %xcc, 0, %l1
    ldx   [%l0 + M_QTT], %o1
    cmp   %o1, 0x7c
    movne %xcc, 0, %l1
    ldx   [%l0 + M_QHEAD], %o1
    movrnz %o1, 0, %l1
    ldx   [%l0 + M_QTAIL], %o1
    cmp   %o1, 0x40
    movne %xcc, 0, %l1
    ldx   [%l0 + M_QWORD], %o1
    SETX  MONDO_MAGIC, %o3, %o2
    cmp   %o1, %o2
    movne %xcc, 0, %l1
    mov   Q_CPU_HEAD, %o1               ! the guest consumed the entry
    ldxa  [%o1] ASI_QUEUE, %o1
    cmp   %o1, 0x40
    movne %xcc, 0, %l1
    mov   %l1, %o0
    VERDICT c_mondo
    ldx   [%l0 + M_DAE], %o1            ! its store to the tail trapped
    mov   0, %o0
    movrnz %o1, 1, %o0
    mov   Q_CPU_TAIL, %o1
    ldxa  [%o1] ASI_QUEUE, %o1
    cmp   %o1, 0x40
    movne %xcc, 0, %o0
    VERDICT c_tail

    ! large pages: a 256 MB sun4v TTE maps all of its 256 MB (not 64 KB); a 4 MB TTE
    ! loaded for an unaligned VA does not evict the next 4 MB page
    SETX  PART, %o2, %l3
    mov   0x111, %o0
    stx   %o0, [%l3]
    SETX  0x10000, %o2, %o1
    mov   0x222, %o0
    stx   %o0, [%l3 + %o1]
    SETX  0x400000, %o2, %o1
    mov   0x333, %o0
    stx   %o0, [%l3 + %o1]
    SETX  0xc00000, %o2, %o1
    mov   0x444, %o0
    stx   %o0, [%l3 + %o1]
    SETX  0x40000000, %o2, %o0      ! VA 0x40000000 -> PA 0x80000000, 256 MB
    SETX  (TTE_V | PART | TTE_P | TTE_W | 5), %o2, %o1
    call  dtlb_load
    nop
    SETX  0x60800000, %o2, %o0      ! VA 0x60800000 -> PA 0x80c00000, 4 MB
    SETX  (TTE_V | (PART + 0xc00000) | TTE_P | TTE_W | 3), %o2, %o1
    call  dtlb_load
    nop
    SETX  0x60402000, %o2, %o0      ! VA 0x60400000 (tag unaligned) -> PA 0x80400000, 4 MB
    SETX  (TTE_V | (PART + 0x400000) | TTE_P | TTE_W | 3), %o2, %o1
    call  dtlb_load
    nop
    mov   LSU_DM, %o0
    stxa  %o0, [%g0] 0x45           ! data MMU on (it applies outside the hypervisor)
    SETX  1f, %o2, %o0
    stx   %o0, [%l0 + M_CONT]
    SETX  0x40000000, %o2, %o3
    SETX  0x40010000, %o2, %o4
    SETX  0x60800000, %o2, %o5
    SETX  0x60400000, %o2, %o2
    WRHPR R_G0, HPR_HPSTATE         ! privileged: loads through the data MMU
    nop
    ldx   [%o3], %l1
    ldx   [%o4], %l2
    ldx   [%o5], %l3
    ldx   [%o2], %l4
    ta    0x80
1:  wrpr  %g0, 0x14, %pstate
    stxa  %g0, [%g0] 0x45
    mov   1, %o0
    cmp   %l1, 0x111
    movne %xcc, 0, %o0
    cmp   %l2, 0x222
    movne %xcc, 0, %o0
    VERDICT c_256m
    mov   1, %o0
    cmp   %l3, 0x444
    movne %xcc, 0, %o0
    cmp   %l4, 0x333
    movne %xcc, 0, %o0
    VERDICT c_4m

    ! cross-strand interrupt round trips: strand 0 sends V_PING to strand 1, whose
    ! handler answers with V_PONG; strands 2 and 3 are idled first
    IOB   T_IDLE, 2, 0
    IOB   T_IDLE, 3, 0
    wrpr  %g0, 0x16, %pstate
    SETX  RTT, %o2, %l5
    mov   0, %l1                    ! round trips done
    mov   1, %l6                    ! all answered
2:  ldx   [%l0 + M_NINTR], %l2
    rd    %asr24, %l3
    IOB   T_INT, 1, V_PING
    add   %l2, 1, %o1
    mov   %l0, %o0
    add   %o0, M_NINTR, %o0
    call  wait_eq
    nop
    rd    %asr24, %l4
    and   %l6, %o0, %l6
    sub   %l4, %l3, %l4
    sllx  %l1, 3, %o1
    stx   %l4, [%l5 + %o1]
    add   %l1, 1, %l1
    cmp   %l1, N_RTT
    bl    2b
    nop
    wrpr  %g0, 0x14, %pstate
    mov   %l6, %o0
    VERDICT c_rtt
    call  sort_rtt
    nop
    PRINT s_rtt_median
    ldx   [%l5 + (N_RTT / 2 - 1) * 8], %o0
    ldx   [%l5 + (N_RTT / 2) * 8], %o1
    add   %o0, %o1, %o0
    mulx  %o0, 5, %o0               ! (a + b) / 2 ticks of 10 ns
    call  putdec
    nop
    PRINT s_rtt_min
    ldx   [%l5], %o0
    mulx  %o0, 10, %o0
    call  putdec
    nop
    PRINT s_rtt_max
    ldx   [%l5 + (N_RTT - 1) * 8], %o0
    mulx  %o0, 10, %o0
    call  putdec
    nop
    PRINT s_rtt_end

    ! real-address translation: with -M niagara,ra2pa=on a real TTE maps RA 0x80400000 to
    ! PA 0x80c00000 (MMU off and ASI_REAL alike), and RA 0x80000000 (no real TTE) raises
    ! data_real_translation_miss (0x3f) in the hypervisor with the RA in the tag access
    ! register; without the option real TTEs are dropped and RA = PA (stock behaviour)
    SETX  0x80400000, %o2, %o0
    SETX  (TTE_V | (PART + 0xc00000) | TTE_P | TTE_W | 3), %o2, %o1
    call  dtlb_load_real
    nop
    stx   %g0, [%l0 + M_RMISS]
    SETX  1f, %o2, %o0
    stx   %o0, [%l0 + M_CONT]
    SETX  0x80400000, %o2, %o3
    SETX  0x80000000, %o2, %o4
    mov   -1, %l2                   ! stays -1 if the load from RA 0x80000000 trapped
    WRHPR R_G0, HPR_HPSTATE         ! privileged, MMU off
    nop
    ldx   [%o3], %l1
    ldxa  [%o3] 0x14, %l3
    ldx   [%o4], %l2
    ta    0x80
1:  wrpr  %g0, 0x14, %pstate
    ldx   [%l0 + M_RMISS], %l4
    ldx   [%l0 + M_RTAG], %l5
    cmp   %l1, 0x444
    bne   2f
    nop
    mov   1, %o0                    ! ra2pa on
    cmp   %l3, 0x444
    movne %xcc, 0, %o0
    cmp   %l4, 0x3f
    movne %xcc, 0, %o0
    SETX  0x80000000, %o2, %o1
    cmp   %l5, %o1
    movne %xcc, 0, %o0
    cmp   %l2, -1
    movne %xcc, 0, %o0
    VERDICT c_ra2pa_on
    ba    3f
    nop
2:  mov   1, %o0                    ! ra2pa off
    cmp   %l1, 0x333
    movne %xcc, 0, %o0
    cmp   %l3, 0x333
    movne %xcc, 0, %o0
    movrnz %l4, 0, %o0
    cmp   %l2, 0x111
    movne %xcc, 0, %o0
    VERDICT c_ra2pa_off
3:
    brnz,pn %l7, 1f
    nop
    PRINT s_all_passed
1:  PRINT s_done
9:  ba    9b
    nop

! ---------------------------------------------------------------------------------------
! Strands 1-3: record %asr26, count boots, then serve commands with PSTATE.IE = 1 (so
! interrupt vectors are taken in hyperprivileged mode).
secondary:
    MYBOX %o1, %l0
    rd    %asr26, %o0
    stx   %o0, [%l0 + M_ASR]
    ldx   [%l0 + M_BOOTS], %o0
    add   %o0, 1, %o0
    stx   %o0, [%l0 + M_BOOTS]
    membar #Sync
    wrpr  %g0, 0x16, %pstate
1:  ldx   [%l0 + M_COUNTER], %o0
    add   %o0, 1, %o0
    stx   %o0, [%l0 + M_COUNTER]
    ldx   [%l0 + M_CMD], %o0
    cmp   %o0, 1
    bne   1b
    nop
    ! command 1: idle this strand through the IOB, then say it ran again
    stx   %g0, [%l0 + M_CMD]
    mov   1, %o0
    stx   %o0, [%l0 + M_IDLING]
    membar #Sync
    rd    %asr26, %o3
    and   %o3, 0x1f00, %o3
    SETX  T_IDLE, %o4, %o2
    or    %o3, %o2, %o3
    SETX  IOB_INT_VEC_DIS, %o5, %o4
    stx   %o3, [%o4]
    mov   1000, %o0                 ! the IDLE takes effect at the end of this block
2:  subcc %o0, 1, %o0
    bnz   2b
    nop
    mov   1, %o0
    stx   %o0, [%l0 + M_RESUMED]
    ba    1b
    nop

! ---------------------------------------------------------------------------------------
! Subroutines (leaf; %o registers only, except verdict).

! puts: print the NUL-terminated string at %o0.
puts:
    SETX  UART, %o2, %o1
1:  ldub  [%o0], %o2
    brz,pn %o2, 2f
    nop
    stba  %o2, [%o1] ASI_REAL_IO
    ba    1b
    add   %o0, 1, %o0
2:  retl
    nop

! puthex: print %o0 as 0x and 16 hex digits.
puthex:
    SETX  UART, %o2, %o1
    mov   '0', %o2
    stba  %o2, [%o1] ASI_REAL_IO
    mov   'x', %o2
    stba  %o2, [%o1] ASI_REAL_IO
    mov   60, %o3
1:  srlx  %o0, %o3, %o2
    and   %o2, 0xf, %o2
    add   %o2, 48, %o2
    cmp   %o2, 58
    bl    2f
    nop
    add   %o2, 39, %o2
2:  stba  %o2, [%o1] ASI_REAL_IO
    brnz,pt %o3, 1b
    sub   %o3, 4, %o3
    retl
    nop

! putdec: print %o0 in decimal.
putdec:
    SETX  DECBUF, %o2, %o1
    SETX  UART, %o4, %o5
1:  udivx %o0, 10, %o2
    mulx  %o2, 10, %o3
    sub   %o0, %o3, %o3
    add   %o3, 48, %o3
    sub   %o1, 1, %o1
    stb   %o3, [%o1]
    brnz,pt %o2, 1b
    mov   %o2, %o0
    SETX  DECBUF, %o2, %o4
2:  ldub  [%o1], %o3
    stba  %o3, [%o5] ASI_REAL_IO
    add   %o1, 1, %o1
    cmp   %o1, %o4
    blu   2b
    nop
    retl
    nop

! wait_eq: %o0 = 1 if the doubleword at %o0 equals %o1 within 20 s of STICK, else 0.
wait_eq:
    rd    %asr24, %o3
    SETX  2000000000, %o4, %o2
    add   %o3, %o2, %o3
1:  ldx   [%o0], %o2
    cmp   %o2, %o1
    be,pn %xcc, 2f
    nop
    rd    %asr24, %o4
    cmp   %o4, %o3
    blu,pt %xcc, 1b
    nop
    retl
    mov   0, %o0
2:  retl
    mov   1, %o0

! dtlb_load: load the sun4v TTE %o1 into the data TLB for the tag (VA | context 0) %o0.
dtlb_load:
    mov   0x30, %o2
    stxa  %o0, [%o2] 0x58           ! ASI_DMMU tag access
    mov   0x400, %o2                ! data in, sun4v TTE format
    stxa  %o1, [%o2] 0x5c
    retl
    nop

! dtlb_load_real / itlb_load_real: load the sun4v real TTE %o1 for the RA %o0.
dtlb_load_real:
    mov   0x30, %o2
    stxa  %o0, [%o2] 0x58           ! ASI_DMMU tag access
    mov   0x600, %o2                ! data in, sun4v format, real
    stxa  %o1, [%o2] 0x5c
    retl
    nop
itlb_load_real:
    mov   0x30, %o2
    stxa  %o0, [%o2] 0x50           ! ASI_IMMU tag access
    mov   0x600, %o2
    stxa  %o1, [%o2] 0x54
    retl
    nop

! delay: spin for %o0 STICK ticks.
delay:
    rd    %asr24, %o1
    add   %o1, %o0, %o1
1:  rd    %asr24, %o2
    cmp   %o2, %o1
    blu,pt %xcc, 1b
    nop
    retl
    nop

! verdict: %o0 = pass or fail, %o1 = the check's name; prints
! "sun4v-checks: ok NAME" or "sun4v-checks: FAIL NAME" and counts failures in %l7.
verdict:
    mov   %o7, %g7
    mov   %o1, %g6
    brz,pn %o0, 1f
    nop
    SETX  s_ok, %o1, %o0
    ba    2f
    nop
1:  add   %l7, 1, %l7
    SETX  s_fail, %o1, %o0
2:  call  puts
    nop
    mov   %g6, %o0
    call  puts
    nop
    SETX  s_nl, %o1, %o0
    call  puts
    nop
    jmp   %g7 + 8
    nop

! sort_rtt: sort the N_RTT samples at RTT in place (insertion sort).
sort_rtt:
    SETX  RTT, %o1, %o5
    mov   1, %g5
1:  cmp   %g5, N_RTT
    bge   4f
    nop
    sllx  %g5, 3, %o0
    ldx   [%o5 + %o0], %o1          ! key
    sub   %g5, 1, %o2               ! j
2:  brlz,pn %o2, 3f
    nop
    sllx  %o2, 3, %o3
    ldx   [%o5 + %o3], %o4
    cmp   %o4, %o1
    bleu,pn %xcc, 3f
    nop
    add   %o3, 8, %o3
    stx   %o4, [%o5 + %o3]
    ba    2b
    sub   %o2, 1, %o2
3:  add   %o2, 1, %o3
    sllx  %o3, 3, %o3
    stx   %o1, [%o5 + %o3]
    ba    1b
    add   %g5, 1, %g5
4:  retl
    nop

! ---------------------------------------------------------------------------------------
! Trap handlers (GL 1).

! interrupt_vector_trap (0x60), hyperprivileged: take the vector; V_PING is answered with
! V_PONG to strand 0, any other vector is recorded in the mailbox with %tt, %htstate and
! what ASI_INTR_RCV holds afterwards.
h_ivec:
    ldxa  [%g0] ASI_INTR_UDB_R, %g1
    cmp   %g1, V_PING
    be,pn %xcc, 1f
    nop
    MYBOX %g2, %g3
    stx   %g1, [%g3 + M_VEC]
    ldxa  [%g0] ASI_INTR_RCV, %g4
    stx   %g4, [%g3 + M_RCV]
    rdpr  %tt, %g4
    stx   %g4, [%g3 + M_TT]
    RDHPR HPR_HTSTATE, R_G4
    stx   %g4, [%g3 + M_HTSTATE]
    membar #Sync
    ldx   [%g3 + M_NINTR], %g4
    add   %g4, 1, %g4
    stx   %g4, [%g3 + M_NINTR]
    retry
1:  SETX  (T_INT | V_PONG), %g5, %g4
    SETX  IOB_INT_VEC_DIS, %g6, %g5
    stx   %g4, [%g5]
    retry

! hstick_match (0x5e), hyperprivileged: record HINTP and %tt, clear HINTP, disable the
! compare.
h_hstick:
    MYBOX %g2, %g3
    RDHPR HPR_HINTP, R_G1
    stx   %g1, [%g3 + M_HINTP]
    rdpr  %tt, %g1
    stx   %g1, [%g3 + M_TT]
    WRHPR R_G0, HPR_HINTP
    mov   1, %g1
    sllx  %g1, 63, %g1
    WRHPR R_G1, HPR_HSTICK_CMPR
    membar #Sync
    ldx   [%g3 + M_HSTICK], %g1
    add   %g1, 1, %g1
    stx   %g1, [%g3 + M_HSTICK]
    retry

! data access exception (0x30/0x32), hyperprivileged: record %tt, skip the access.
h_dae:
    MYBOX %g2, %g3
    rdpr  %tt, %g1
    stx   %g1, [%g3 + M_DAE]
    done

! data_real_translation_miss (0x3f), hyperprivileged: record %tt and the tag access
! register (the RA), skip the access.
h_realmiss:
    MYBOX %g2, %g3
    rdpr  %tt, %g1
    stx   %g1, [%g3 + M_RMISS]
    mov   0x30, %g1
    ldxa  [%g1] 0x58, %g1
    stx   %g1, [%g3 + M_RTAG]
    done

! hyperprivileged trap 0x180 (ta 0x80 from privileged code): back to the hypervisor at
! TL 0, at the address in the mailbox's M_CONT.
h_back:
    MYBOX %g2, %g3
    ldx   [%g3 + M_CONT], %g1
    wrpr  %g0, 0, %tl
    jmp   %g1
    wrpr  %g0, 0, %gl

! cpu_mondo (0x7c), privileged: record head, tail, the first word of the entry and %tt;
! consume the entry (head = tail); try to write the tail (must trap); back to the HV.
g_mondo:
    mov   Q_CPU_HEAD, %g1
    ldxa  [%g1] ASI_QUEUE, %g2
    mov   Q_CPU_TAIL, %g1
    ldxa  [%g1] ASI_QUEUE, %g3
    SETX  QUEUE, %g5, %g4
    ldx   [%g4 + %g2], %g5
    SETX  MBOX, %g7, %g6
    stx   %g2, [%g6 + M_QHEAD]
    stx   %g3, [%g6 + M_QTAIL]
    stx   %g5, [%g6 + M_QWORD]
    rdpr  %tt, %g1
    stx   %g1, [%g6 + M_QTT]
    mov   Q_CPU_HEAD, %g1
    stxa  %g3, [%g1] ASI_QUEUE
    mov   Q_CPU_TAIL, %g1
    stxa  %g0, [%g1] ASI_QUEUE
    ldx   [%g6 + M_MONDO], %g1
    add   %g1, 1, %g1
    stx   %g1, [%g6 + M_MONDO]
    ta    0x80

! Any other trap: report it and end the run.
unexpected_trap:
    rdpr  %tt, %g1
    PRINT s_unexpected
    mov   %g1, %o0
    call  puthex
    nop
    PRINT s_nl
    PRINT s_done
1:  ba    1b
    nop

! ---------------------------------------------------------------------------------------
    .org  0x4000
htraptable:
    HT_UNEXPECTED 0x30
    HT_GO h_dae                     ! 0x30
    HT_GO unexpected_trap           ! 0x31
    HT_GO h_dae                     ! 0x32
    HT_UNEXPECTED (0x3f - 0x33)
    HT_GO h_realmiss                ! 0x3f
    HT_UNEXPECTED (0x5e - 0x40)
    HT_GO h_hstick                  ! 0x5e
    HT_GO unexpected_trap           ! 0x5f
    HT_GO h_ivec                    ! 0x60
    HT_UNEXPECTED (0x180 - 0x61)
    HT_GO h_back                    ! 0x180
    HT_UNEXPECTED (0x200 - 0x181)

    .org  0x8000
guest_table:
    HT_UNEXPECTED 0x7c
    HT_GO g_mondo                   ! 0x7c
    HT_UNEXPECTED 3

.section .rodata.checks, "a"
s_start:      .asciz "sun4v-checks: start\n"
s_ok:         .asciz "sun4v-checks: ok "
s_fail:       .asciz "sun4v-checks: FAIL "
s_nl:         .asciz "\n"
s_hver:       .asciz "sun4v-checks: hver="
s_rtt_median: .asciz "sun4v-checks: interrupt round trip median "
s_rtt_min:    .asciz " ns, min "
s_rtt_max:    .asciz " ns, max "
s_rtt_end:    .asciz " ns\n"
s_all_passed: .asciz "sun4v-checks: all checks passed\n"
s_done:       .asciz "sun4v-checks: done\n"
s_unexpected: .asciz "sun4v-checks: FAIL unexpected trap tt="
c_asr26_0:    .asciz "strand 0 %asr26 = 0x1 (ID 0, ACTIVE)"
c_hver:       .asciz "%hver is UltraSPARC T1 (manuf 0x3e, impl 0x23, MAXGL 3, MAXTL 6, MAXWIN 7)"
c_resume:     .asciz "IOB RESUME starts strands 1-3, each reads its own %asr26 (0x101, 0x201, 0x301)"
c_ivec:       .asciz "interrupt vector 0x2a from strand 0 to strand 3: trap 0x60 in hyperprivileged mode, ASI_INTR_UDB_R = 0x2a, ASI_INTR_RCV then 0"
c_idle:       .asciz "strand 2 idles itself through the IOB and runs again only after RESUME"
c_reset:      .asciz "IOB RESET restarts strand 1 at the reset vector"
c_hstick:     .asciz "hstick_match: trap 0x5e in hyperprivileged mode with HINTP = 1"
c_hpstate:    .asciz "interrupt pending in the hypervisor (PSTATE.IE = 0) is taken right after wrhpr %hpstate leaves it"
c_mondo:      .asciz "cpu mondo queued by the hypervisor reaches the privileged trap table at 0x7c (only once PSTATE.IE = 1) with the queue contents"
c_tail:       .asciz "cpu mondo tail register is read-only to privileged code"
c_256m:       .asciz "256 MB page: VA 0x40010000 reads PA 0x80010000 (not 64 KB wrapped)"
c_4m:         .asciz "4 MB page loaded for an unaligned VA keeps the next 4 MB page mapped"
c_ra2pa_on:   .asciz "real TTE: RA 0x80400000 -> PA 0x80c00000 (MMU off and ASI_REAL); RA without a real TTE: trap 0x3f in hyperprivileged mode, RA in tag access (ra2pa=on)"
c_ra2pa_off:  .asciz "real TTEs dropped, RA = PA, no real-translation miss (ra2pa off, stock behaviour)"
c_rtt:        .asciz "100 cross-strand interrupt round trips (strand 0 -> 1 -> 0)"
