//! Fast-trap (`ta 0x80`) function numbers, passed in `%o5`, and the table of
//! which API group version enables each.
//!
//! Names are the spec's call names in upper case. Source: hv-api.md §2.3–§2.8;
//! OSH `src/include/hypervisor.h` (numbers),
//! `src/greatlakes/ontario/src/hcall_groups.s` (group/version tables);
//! LNX-HV `HV_FAST_*`.

use crate::group;

/// Which API group version enables a fast-trap function (hv-api.md §2.3–§2.8).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FunctionInfo {
    /// Function number (`%o5`).
    pub number: u64,
    /// The spec's call name, lower case (e.g. `"mach_desc"`).
    pub name: &'static str,
    /// API group number ([`crate::group`]).
    pub group: u64,
    /// Major version whose table contains the call.
    pub major: u64,
    /// First minor of that major that enables the call.
    pub minor: u64,
}

impl FunctionInfo {
    /// Whether the call is callable once `group` is negotiated at
    /// (`major`, `minor`): same group, same major, and `minor` ≥ the enabling
    /// minor. Each major has its own table and minors are cumulative, as in
    /// OSH (e.g. INTR 2.0 offers only 0xa7–0xae; NCS 2.0 only 0x111–0x117)
    /// (hv-api.md §1.3, §2.8; OSH `hcall_groups.s`).
    pub const fn enabled_by(&self, group: u64, major: u64, minor: u64) -> bool {
        self.group == group && self.major == major && minor >= self.minor
    }
}

macro_rules! functions {
    ($($(#[$m:meta])* $name:ident = $num:expr, $s:expr, $grp:expr, $maj:expr, $min:expr;)*) => {
        $( $(#[$m])* pub const $name: u64 = $num; )*
        /// Every fast-trap function with a known group and version, ascending by
        /// number (hv-api.md §2.3–§2.8; OSH `hcall_groups.s`).
        pub const FUNCTIONS: &[FunctionInfo] = &[
            $( FunctionInfo { number: $num, name: $s, group: $grp, major: $maj, minor: $min }, )*
        ];
    };
}

use group::{CORE, DIAG, FIRE_PERF, INTR, LDOM, N2_CPU, NCS, NIAG_PERF, PCI, SOFT_STATE, SVC_CHAN};

functions! {
    /// mach_exit(code), never returns; Core 1.0 (hv-api.md §2.3).
    MACH_EXIT = 0x00, "mach_exit", CORE, 1, 0;
    /// mach_desc(buf_ra, len) → MD size; Core 1.0 (hv-api.md §2.3, §5.3).
    MACH_DESC = 0x01, "mach_desc", CORE, 1, 0;
    /// mach_sir(), never returns; Core 1.0 (hv-api.md §2.3).
    MACH_SIR = 0x02, "mach_sir", CORE, 1, 0;
    /// mach_set_watchdog(ms) → ms remaining; Core 1.1 (hv-api.md §2.3).
    MACH_SET_WATCHDOG = 0x05, "mach_set_watchdog", CORE, 1, 1;
    /// cpu_start(cpuid, pc, rtba, arg0); Core 1.0 (hv-api.md §2.3).
    CPU_START = 0x10, "cpu_start", CORE, 1, 0;
    /// cpu_stop(cpuid); Core 1.1 (hv-api.md §2.3).
    CPU_STOP = 0x11, "cpu_stop", CORE, 1, 1;
    /// cpu_yield(); Core 1.0 (hv-api.md §2.3).
    CPU_YIELD = 0x12, "cpu_yield", CORE, 1, 0;
    /// cpu_poke(cpuid). Not in OSH 1.5.6; hv-api.md §2.3 says "later Core
    /// minor" without naming it. Entered as Core 1.6, the minor Linux requests
    /// and (to our reading of LNX `smp_init_cpu_poke`) requires for it —
    /// unverified against the spec text (hv-api.md §2.3, §8).
    CPU_POKE = 0x13, "cpu_poke", CORE, 1, 6;
    /// cpu_qconf(queue, base_ra, nentries); Core 1.0 (hv-api.md §2.3).
    CPU_QCONF = 0x14, "cpu_qconf", CORE, 1, 0;
    /// cpu_qinfo(queue) → base_ra, nentries; Core 1.0 (hv-api.md §2.3).
    CPU_QINFO = 0x15, "cpu_qinfo", CORE, 1, 0;
    /// cpu_myid() → cpuid; Core 1.0 (hv-api.md §2.3).
    CPU_MYID = 0x16, "cpu_myid", CORE, 1, 0;
    /// cpu_state(cpuid) → state ([`crate::cpu_state`]); Core 1.0 (hv-api.md §2.3;
    /// OSH name `CPU_GET_STATE`).
    CPU_STATE = 0x17, "cpu_state", CORE, 1, 0;
    /// cpu_set_rtba(rtba) → previous rtba; Core 1.0 (hv-api.md §2.3).
    CPU_SET_RTBA = 0x18, "cpu_set_rtba", CORE, 1, 0;
    /// cpu_get_rtba() → rtba; Core 1.0 (hv-api.md §2.3).
    CPU_GET_RTBA = 0x19, "cpu_get_rtba", CORE, 1, 0;
    /// mmu_tsb_ctx0(ntsb, tsbd_ra); Core 1.0 (hv-api.md §2.3).
    MMU_TSB_CTX0 = 0x20, "mmu_tsb_ctx0", CORE, 1, 0;
    /// mmu_tsb_ctxnon0(ntsb, tsbd_ra); Core 1.0 (hv-api.md §2.3).
    MMU_TSB_CTXNON0 = 0x21, "mmu_tsb_ctxnon0", CORE, 1, 0;
    /// mmu_demap_page(0, 0, va, ctx, flags); Core 1.0 (hv-api.md §2.3).
    MMU_DEMAP_PAGE = 0x22, "mmu_demap_page", CORE, 1, 0;
    /// mmu_demap_ctx(0, 0, ctx, flags); Core 1.0 (hv-api.md §2.3).
    MMU_DEMAP_CTX = 0x23, "mmu_demap_ctx", CORE, 1, 0;
    /// mmu_demap_all(0, 0, flags); Core 1.0 (hv-api.md §2.3).
    MMU_DEMAP_ALL = 0x24, "mmu_demap_all", CORE, 1, 0;
    /// mmu_map_perm_addr(va, 0, tte, flags); Core 1.0 (hv-api.md §2.3).
    MMU_MAP_PERM_ADDR = 0x25, "mmu_map_perm_addr", CORE, 1, 0;
    /// mmu_fault_area_conf(ra) → previous ra; Core 1.0 (hv-api.md §2.3).
    MMU_FAULT_AREA_CONF = 0x26, "mmu_fault_area_conf", CORE, 1, 0;
    /// mmu_enable(enable, return_addr); Core 1.0 (hv-api.md §2.3).
    MMU_ENABLE = 0x27, "mmu_enable", CORE, 1, 0;
    /// mmu_unmap_perm_addr(va, 0, flags); Core 1.0 (hv-api.md §2.3).
    MMU_UNMAP_PERM_ADDR = 0x28, "mmu_unmap_perm_addr", CORE, 1, 0;
    /// mmu_tsb_ctx0_info(max, buf_ra) → count; Core 1.0 (hv-api.md §2.3).
    MMU_TSB_CTX0_INFO = 0x29, "mmu_tsb_ctx0_info", CORE, 1, 0;
    /// mmu_tsb_ctxnon0_info(max, buf_ra) → count; Core 1.0 (hv-api.md §2.3).
    MMU_TSB_CTXNON0_INFO = 0x2a, "mmu_tsb_ctxnon0_info", CORE, 1, 0;
    /// mmu_fault_area_info() → ra; Core 1.0 (hv-api.md §2.3).
    MMU_FAULT_AREA_INFO = 0x2b, "mmu_fault_area_info", CORE, 1, 0;
    /// mem_scrub(ra, len) → len scrubbed; Core 1.0 (hv-api.md §2.3).
    MEM_SCRUB = 0x31, "mem_scrub", CORE, 1, 0;
    /// mem_sync(ra, len) → len synced; Core 1.0 (hv-api.md §2.3).
    MEM_SYNC = 0x32, "mem_sync", CORE, 1, 0;
    /// cpu_mondo_send(ncpus, cpulist_ra, data_ra); Core 1.0 (hv-api.md §2.3).
    CPU_MONDO_SEND = 0x42, "cpu_mondo_send", CORE, 1, 0;
    /// tod_get() → seconds since 1970; Core 1.0 (hv-api.md §2.3).
    TOD_GET = 0x50, "tod_get", CORE, 1, 0;
    /// tod_set(seconds); Core 1.0 (hv-api.md §2.3).
    TOD_SET = 0x51, "tod_set", CORE, 1, 0;
    /// cons_getchar() → char / BREAK / HUP; Core 1.0 (hv-api.md §2.3).
    CONS_GETCHAR = 0x60, "cons_getchar", CORE, 1, 0;
    /// cons_putchar(char); Core 1.0 (hv-api.md §2.3).
    CONS_PUTCHAR = 0x61, "cons_putchar", CORE, 1, 0;
    /// cons_read(buf_ra, size) → bytes read; Core 1.1 (hv-api.md §2.3).
    CONS_READ = 0x62, "cons_read", CORE, 1, 1;
    /// cons_write(buf_ra, size) → bytes written; Core 1.1 (hv-api.md §2.3).
    CONS_WRITE = 0x63, "cons_write", CORE, 1, 1;
    /// soft_state_set(state, desc_ra); Soft-state 1.0 (hv-api.md §2.4).
    SOFT_STATE_SET = 0x70, "soft_state_set", SOFT_STATE, 1, 0;
    /// soft_state_get(buf_ra) → state; Soft-state 1.0 (hv-api.md §2.4).
    SOFT_STATE_GET = 0x71, "soft_state_get", SOFT_STATE, 1, 0;
    /// svc_send; SVC_CHAN 1.0, OSH `CONFIG_SVC` only (hv-api.md §2.7).
    SVC_SEND = 0x80, "svc_send", SVC_CHAN, 1, 0;
    /// svc_recv; SVC_CHAN 1.0 (hv-api.md §2.7).
    SVC_RECV = 0x81, "svc_recv", SVC_CHAN, 1, 0;
    /// svc_getstatus; SVC_CHAN 1.0 (hv-api.md §2.7).
    SVC_GETSTATUS = 0x82, "svc_getstatus", SVC_CHAN, 1, 0;
    /// svc_setstatus; SVC_CHAN 1.0 (hv-api.md §2.7).
    SVC_SETSTATUS = 0x83, "svc_setstatus", SVC_CHAN, 1, 0;
    /// svc_clrstatus; SVC_CHAN 1.0 (hv-api.md §2.7).
    SVC_CLRSTATUS = 0x84, "svc_clrstatus", SVC_CHAN, 1, 0;
    /// ttrace_buf_conf(ra, nentries) → nentries; Core 1.0 (hv-api.md §2.3).
    TTRACE_BUF_CONF = 0x90, "ttrace_buf_conf", CORE, 1, 0;
    /// ttrace_buf_info() → ra, size; Core 1.0 (hv-api.md §2.3).
    TTRACE_BUF_INFO = 0x91, "ttrace_buf_info", CORE, 1, 0;
    /// ttrace_enable(enable) → previous; Core 1.0 (hv-api.md §2.3).
    TTRACE_ENABLE = 0x92, "ttrace_enable", CORE, 1, 0;
    /// ttrace_freeze(freeze) → previous; Core 1.0 (hv-api.md §2.3).
    TTRACE_FREEZE = 0x93, "ttrace_freeze", CORE, 1, 0;
    /// dump_buf_update(ra, size) → required size; Core 1.0 (hv-api.md §2.3).
    DUMP_BUF_UPDATE = 0x94, "dump_buf_update", CORE, 1, 0;
    /// dump_buf_info() → ra, size; Core 1.0 (hv-api.md §2.3).
    DUMP_BUF_INFO = 0x95, "dump_buf_info", CORE, 1, 0;
    /// intr_devino2sysino(devhandle, devino) → sysino; INTR 1.0 (hv-api.md §2.5).
    INTR_DEVINO2SYSINO = 0xa0, "intr_devino2sysino", INTR, 1, 0;
    /// intr_getenabled(sysino); INTR 1.0 (hv-api.md §2.5).
    INTR_GETENABLED = 0xa1, "intr_getenabled", INTR, 1, 0;
    /// intr_setenabled(sysino, enabled); INTR 1.0 (hv-api.md §2.5).
    INTR_SETENABLED = 0xa2, "intr_setenabled", INTR, 1, 0;
    /// intr_getstate(sysino); INTR 1.0 (hv-api.md §2.5).
    INTR_GETSTATE = 0xa3, "intr_getstate", INTR, 1, 0;
    /// intr_setstate(sysino, state); INTR 1.0 (hv-api.md §2.5).
    INTR_SETSTATE = 0xa4, "intr_setstate", INTR, 1, 0;
    /// intr_gettarget(sysino) → cpuid; INTR 1.0 (hv-api.md §2.5).
    INTR_GETTARGET = 0xa5, "intr_gettarget", INTR, 1, 0;
    /// intr_settarget(sysino, cpuid); INTR 1.0 (hv-api.md §2.5).
    INTR_SETTARGET = 0xa6, "intr_settarget", INTR, 1, 0;
    /// vintr_getcookie(devhandle, devino) → cookie; INTR 2.0 (hv-api.md §2.5).
    VINTR_GETCOOKIE = 0xa7, "vintr_getcookie", INTR, 2, 0;
    /// vintr_setcookie(devhandle, devino, cookie); INTR 2.0 (hv-api.md §2.5).
    VINTR_SETCOOKIE = 0xa8, "vintr_setcookie", INTR, 2, 0;
    /// vintr_getvalid(devhandle, devino); INTR 2.0 (hv-api.md §2.5).
    VINTR_GETVALID = 0xa9, "vintr_getvalid", INTR, 2, 0;
    /// vintr_setvalid(devhandle, devino, valid); INTR 2.0 (hv-api.md §2.5).
    VINTR_SETVALID = 0xaa, "vintr_setvalid", INTR, 2, 0;
    /// vintr_getstate(devhandle, devino); INTR 2.0 (hv-api.md §2.5).
    VINTR_GETSTATE = 0xab, "vintr_getstate", INTR, 2, 0;
    /// vintr_setstate(devhandle, devino, state); INTR 2.0 (hv-api.md §2.5).
    VINTR_SETSTATE = 0xac, "vintr_setstate", INTR, 2, 0;
    /// vintr_gettarget(devhandle, devino) → cpuid; INTR 2.0 (hv-api.md §2.5).
    VINTR_GETTARGET = 0xad, "vintr_gettarget", INTR, 2, 0;
    /// vintr_settarget(devhandle, devino, cpuid); INTR 2.0 (hv-api.md §2.5).
    VINTR_SETTARGET = 0xae, "vintr_settarget", INTR, 2, 0;
    /// pci_iommu_map; PCI 1.0 (1.1 replaces the handler) (hv-api.md §2.7; OSH `VPCI_IOMMU_MAP`).
    PCI_IOMMU_MAP = 0xb0, "pci_iommu_map", PCI, 1, 0;
    /// pci_iommu_demap; PCI 1.0 (hv-api.md §2.7; OSH `VPCI_IOMMU_UNMAP`).
    PCI_IOMMU_DEMAP = 0xb1, "pci_iommu_demap", PCI, 1, 0;
    /// pci_iommu_getmap; PCI 1.0 (1.1 replaces the handler) (hv-api.md §2.7).
    PCI_IOMMU_GETMAP = 0xb2, "pci_iommu_getmap", PCI, 1, 0;
    /// pci_iommu_getbypass; PCI 1.0 (hv-api.md §2.7).
    PCI_IOMMU_GETBYPASS = 0xb3, "pci_iommu_getbypass", PCI, 1, 0;
    /// pci_config_get; PCI 1.0 (hv-api.md §2.7).
    PCI_CONFIG_GET = 0xb4, "pci_config_get", PCI, 1, 0;
    /// pci_config_put; PCI 1.0 (hv-api.md §2.7).
    PCI_CONFIG_PUT = 0xb5, "pci_config_put", PCI, 1, 0;
    /// pci_peek; PCI 1.0 (hv-api.md §2.7; OSH `VPCI_IO_PEEK`).
    PCI_PEEK = 0xb6, "pci_peek", PCI, 1, 0;
    /// pci_poke; PCI 1.0 (hv-api.md §2.7; OSH `VPCI_IO_POKE`).
    PCI_POKE = 0xb7, "pci_poke", PCI, 1, 0;
    /// pci_dma_sync; PCI 1.0 (hv-api.md §2.7).
    PCI_DMA_SYNC = 0xb8, "pci_dma_sync", PCI, 1, 0;
    /// pci_msiq_conf; PCI 1.0 (hv-api.md §2.7).
    PCI_MSIQ_CONF = 0xc0, "pci_msiq_conf", PCI, 1, 0;
    /// pci_msiq_info; PCI 1.0 (hv-api.md §2.7).
    PCI_MSIQ_INFO = 0xc1, "pci_msiq_info", PCI, 1, 0;
    /// pci_msiq_getvalid; PCI 1.0 (hv-api.md §2.7).
    PCI_MSIQ_GETVALID = 0xc2, "pci_msiq_getvalid", PCI, 1, 0;
    /// pci_msiq_setvalid; PCI 1.0 (hv-api.md §2.7).
    PCI_MSIQ_SETVALID = 0xc3, "pci_msiq_setvalid", PCI, 1, 0;
    /// pci_msiq_getstate; PCI 1.0 (hv-api.md §2.7).
    PCI_MSIQ_GETSTATE = 0xc4, "pci_msiq_getstate", PCI, 1, 0;
    /// pci_msiq_setstate; PCI 1.0 (hv-api.md §2.7).
    PCI_MSIQ_SETSTATE = 0xc5, "pci_msiq_setstate", PCI, 1, 0;
    /// pci_msiq_gethead; PCI 1.0 (hv-api.md §2.7).
    PCI_MSIQ_GETHEAD = 0xc6, "pci_msiq_gethead", PCI, 1, 0;
    /// pci_msiq_sethead; PCI 1.0 (hv-api.md §2.7).
    PCI_MSIQ_SETHEAD = 0xc7, "pci_msiq_sethead", PCI, 1, 0;
    /// pci_msiq_gettail; PCI 1.0 (hv-api.md §2.7).
    PCI_MSIQ_GETTAIL = 0xc8, "pci_msiq_gettail", PCI, 1, 0;
    /// pci_msi_getvalid; PCI 1.0 (hv-api.md §2.7).
    PCI_MSI_GETVALID = 0xc9, "pci_msi_getvalid", PCI, 1, 0;
    /// pci_msi_setvalid; PCI 1.0 (hv-api.md §2.7).
    PCI_MSI_SETVALID = 0xca, "pci_msi_setvalid", PCI, 1, 0;
    /// pci_msi_getmsiq; PCI 1.0 (hv-api.md §2.7).
    PCI_MSI_GETMSIQ = 0xcb, "pci_msi_getmsiq", PCI, 1, 0;
    /// pci_msi_setmsiq; PCI 1.0 (hv-api.md §2.7).
    PCI_MSI_SETMSIQ = 0xcc, "pci_msi_setmsiq", PCI, 1, 0;
    /// pci_msi_getstate; PCI 1.0 (hv-api.md §2.7).
    PCI_MSI_GETSTATE = 0xcd, "pci_msi_getstate", PCI, 1, 0;
    /// pci_msi_setstate; PCI 1.0 (hv-api.md §2.7).
    PCI_MSI_SETSTATE = 0xce, "pci_msi_setstate", PCI, 1, 0;
    /// pci_msg_getmsiq; PCI 1.0 (hv-api.md §2.7; OSH `MSI_MSG_GETMSIQ`).
    PCI_MSG_GETMSIQ = 0xd0, "pci_msg_getmsiq", PCI, 1, 0;
    /// pci_msg_setmsiq; PCI 1.0 (hv-api.md §2.7).
    PCI_MSG_SETMSIQ = 0xd1, "pci_msg_setmsiq", PCI, 1, 0;
    /// pci_msg_getvalid; PCI 1.0 (hv-api.md §2.7).
    PCI_MSG_GETVALID = 0xd2, "pci_msg_getvalid", PCI, 1, 0;
    /// pci_msg_setvalid; PCI 1.0 (hv-api.md §2.7).
    PCI_MSG_SETVALID = 0xd3, "pci_msg_setvalid", PCI, 1, 0;
    /// ldc_tx_qconf(channel, ra, nentries); LDOM 1.0 (hv-api.md §2.6).
    LDC_TX_QCONF = 0xe0, "ldc_tx_qconf", LDOM, 1, 0;
    /// ldc_tx_qinfo(channel) → ra, nentries; LDOM 1.0 (hv-api.md §2.6).
    LDC_TX_QINFO = 0xe1, "ldc_tx_qinfo", LDOM, 1, 0;
    /// ldc_tx_get_state(channel) → head, tail, state; LDOM 1.0 (hv-api.md §2.6).
    LDC_TX_GET_STATE = 0xe2, "ldc_tx_get_state", LDOM, 1, 0;
    /// ldc_tx_set_qtail(channel, tail); LDOM 1.0 (hv-api.md §2.6).
    LDC_TX_SET_QTAIL = 0xe3, "ldc_tx_set_qtail", LDOM, 1, 0;
    /// ldc_rx_qconf(channel, ra, nentries); LDOM 1.0 (hv-api.md §2.6).
    LDC_RX_QCONF = 0xe4, "ldc_rx_qconf", LDOM, 1, 0;
    /// ldc_rx_qinfo(channel) → ra, nentries; LDOM 1.0 (hv-api.md §2.6).
    LDC_RX_QINFO = 0xe5, "ldc_rx_qinfo", LDOM, 1, 0;
    /// ldc_rx_get_state(channel) → head, tail, state; LDOM 1.0 (hv-api.md §2.6).
    LDC_RX_GET_STATE = 0xe6, "ldc_rx_get_state", LDOM, 1, 0;
    /// ldc_rx_set_qhead(channel, head); LDOM 1.0 (hv-api.md §2.6).
    LDC_RX_SET_QHEAD = 0xe7, "ldc_rx_set_qhead", LDOM, 1, 0;
    /// ldc_set_map_table(channel, ra, nentries); LDOM 1.0 (hv-api.md §2.6).
    LDC_SET_MAP_TABLE = 0xea, "ldc_set_map_table", LDOM, 1, 0;
    /// ldc_get_map_table(channel) → ra, nentries; LDOM 1.0 (hv-api.md §2.6).
    LDC_GET_MAP_TABLE = 0xeb, "ldc_get_map_table", LDOM, 1, 0;
    /// ldc_copy(channel, dir, cookie, local_ra, len) → copied; LDOM 1.0 (hv-api.md §2.6).
    LDC_COPY = 0xec, "ldc_copy", LDOM, 1, 0;
    /// ldc_mapin(channel, cookie) → ra, perms; LDOM 1.0 (hv-api.md §2.6).
    LDC_MAPIN = 0xed, "ldc_mapin", LDOM, 1, 0;
    /// ldc_unmap(ra); LDOM 1.0 (hv-api.md §2.6).
    LDC_UNMAP = 0xee, "ldc_unmap", LDOM, 1, 0;
    /// ldc_revoke(channel, cookie, revoke_cookie); LDOM 1.0 (hv-api.md §2.6).
    LDC_REVOKE = 0xef, "ldc_revoke", LDOM, 1, 0;
    /// disk_read (simulation only, OSH `CONFIG_DISK`, in the Core 1.0 table)
    /// (hv-api.md §2.7; OSH `hcall_groups.s`).
    DISK_READ = 0xf0, "disk_read", CORE, 1, 0;
    /// disk_write (simulation only, OSH `CONFIG_DISK`, Core 1.0 table)
    /// (hv-api.md §2.7; OSH `hcall_groups.s`).
    DISK_WRITE = 0xf1, "disk_write", CORE, 1, 0;
    /// niagara_get_perfreg(reg) → value; NIAG_PERF 1.0 (hv-api.md §2.7).
    NIAGARA_GET_PERFREG = 0x100, "niagara_get_perfreg", NIAG_PERF, 1, 0;
    /// niagara_set_perfreg(reg, value); NIAG_PERF 1.0 (hv-api.md §2.7).
    NIAGARA_SET_PERFREG = 0x101, "niagara_set_perfreg", NIAG_PERF, 1, 0;
    /// niagara_mmustat_conf; NIAG_PERF 1.0 (hv-api.md §2.7).
    NIAGARA_MMUSTAT_CONF = 0x102, "niagara_mmustat_conf", NIAG_PERF, 1, 0;
    /// niagara_mmustat_info; NIAG_PERF 1.0 (hv-api.md §2.7).
    NIAGARA_MMUSTAT_INFO = 0x103, "niagara_mmustat_info", NIAG_PERF, 1, 0;
    /// n2_get_perfreg; N2_CPU 1.0, not on T1 (hv-api.md §2.7; LNX-HV).
    N2_GET_PERFREG = 0x104, "n2_get_perfreg", N2_CPU, 1, 0;
    /// n2_set_perfreg; N2_CPU 1.0, not on T1 (hv-api.md §2.7; LNX-HV).
    N2_SET_PERFREG = 0x105, "n2_set_perfreg", N2_CPU, 1, 0;
    /// ncs_request(subfn, ...); NCS 1.0 (hv-api.md §2.7).
    NCS_REQUEST = 0x110, "ncs_request", NCS, 1, 0;
    /// ncs_qconf; NCS 2.0 (hv-api.md §2.7).
    NCS_QCONF = 0x111, "ncs_qconf", NCS, 2, 0;
    /// ncs_qinfo; NCS 2.0 (hv-api.md §2.7).
    NCS_QINFO = 0x112, "ncs_qinfo", NCS, 2, 0;
    /// ncs_gethead; NCS 2.0 (hv-api.md §2.7).
    NCS_GETHEAD = 0x113, "ncs_gethead", NCS, 2, 0;
    /// ncs_gettail; NCS 2.0 (hv-api.md §2.7).
    NCS_GETTAIL = 0x114, "ncs_gettail", NCS, 2, 0;
    /// ncs_settail; NCS 2.0 (hv-api.md §2.7).
    NCS_SETTAIL = 0x115, "ncs_settail", NCS, 2, 0;
    /// ncs_qhandle_to_devino; NCS 2.0 (hv-api.md §2.7).
    NCS_QHANDLE_TO_DEVINO = 0x116, "ncs_qhandle_to_devino", NCS, 2, 0;
    /// ncs_sethead_marker; NCS 2.0 (hv-api.md §2.7).
    NCS_SETHEAD_MARKER = 0x117, "ncs_sethead_marker", NCS, 2, 0;
    /// fire_get_perfreg; FIRE_PERF 1.0, OSH `CONFIG_FIRE` (hv-api.md §2.7).
    FIRE_GET_PERFREG = 0x120, "fire_get_perfreg", FIRE_PERF, 1, 0;
    /// fire_set_perfreg; FIRE_PERF 1.0, OSH `CONFIG_FIRE` (hv-api.md §2.7).
    FIRE_SET_PERFREG = 0x121, "fire_set_perfreg", FIRE_PERF, 1, 0;
    /// diag_ra2pa; DIAG 1.0, diagnostic partitions only (hv-api.md §2.7).
    DIAG_RA2PA = 0x200, "diag_ra2pa", DIAG, 1, 0;
    /// diag_hexec; DIAG 1.0, diagnostic partitions only (hv-api.md §2.7).
    DIAG_HEXEC = 0x201, "diag_hexec", DIAG, 1, 0;
}

/// LDC_IRQ_CPU: number defined by OSH but in no group table (hv-api.md §2.6).
pub const LDC_IRQ_CPU: u64 = 0xe8;
/// LDC_SET_INO: number defined by OSH but in no group table (hv-api.md §2.6).
pub const LDC_SET_INO: u64 = 0xe9;
/// snet_read: OSH `T1_FPGA_SNET` build option only; in no group table here
/// (hv-api.md §2.7).
pub const SNET_READ: u64 = 0xf2;
/// snet_write: OSH `T1_FPGA_SNET` build option only (hv-api.md §2.7).
pub const SNET_WRITE: u64 = 0xf3;
/// mmu_perm_addr_info: OSH DEBUG builds only, disabled in its table
/// (hv-api.md §2.7).
pub const MMU_PERM_ADDR_INFO: u64 = 0xfd;

/// The table entry of fast-trap function `number`, if it belongs to a group
/// (hv-api.md §2.3–§2.8).
pub fn function_info(number: u64) -> Option<&'static FunctionInfo> {
    FUNCTIONS.binary_search_by(|f| f.number.cmp(&number)).ok().and_then(|i| FUNCTIONS.get(i))
}

static_assertions::const_assert_eq!(MACH_EXIT, 0x00);
static_assertions::const_assert_eq!(MACH_DESC, 0x01);
static_assertions::const_assert_eq!(MACH_SIR, 0x02);
static_assertions::const_assert_eq!(MACH_SET_WATCHDOG, 0x05);
static_assertions::const_assert_eq!(CPU_START, 0x10);
static_assertions::const_assert_eq!(CPU_STOP, 0x11);
static_assertions::const_assert_eq!(CPU_YIELD, 0x12);
static_assertions::const_assert_eq!(CPU_POKE, 0x13);
static_assertions::const_assert_eq!(CPU_QCONF, 0x14);
static_assertions::const_assert_eq!(CPU_QINFO, 0x15);
static_assertions::const_assert_eq!(CPU_MYID, 0x16);
static_assertions::const_assert_eq!(CPU_STATE, 0x17);
static_assertions::const_assert_eq!(CPU_SET_RTBA, 0x18);
static_assertions::const_assert_eq!(CPU_GET_RTBA, 0x19);
static_assertions::const_assert_eq!(MMU_TSB_CTX0, 0x20);
static_assertions::const_assert_eq!(MMU_TSB_CTXNON0, 0x21);
static_assertions::const_assert_eq!(MMU_DEMAP_PAGE, 0x22);
static_assertions::const_assert_eq!(MMU_DEMAP_CTX, 0x23);
static_assertions::const_assert_eq!(MMU_DEMAP_ALL, 0x24);
static_assertions::const_assert_eq!(MMU_MAP_PERM_ADDR, 0x25);
static_assertions::const_assert_eq!(MMU_FAULT_AREA_CONF, 0x26);
static_assertions::const_assert_eq!(MMU_ENABLE, 0x27);
static_assertions::const_assert_eq!(MMU_UNMAP_PERM_ADDR, 0x28);
static_assertions::const_assert_eq!(MMU_TSB_CTX0_INFO, 0x29);
static_assertions::const_assert_eq!(MMU_TSB_CTXNON0_INFO, 0x2a);
static_assertions::const_assert_eq!(MMU_FAULT_AREA_INFO, 0x2b);
static_assertions::const_assert_eq!(MEM_SCRUB, 0x31);
static_assertions::const_assert_eq!(MEM_SYNC, 0x32);
static_assertions::const_assert_eq!(CPU_MONDO_SEND, 0x42);
static_assertions::const_assert_eq!(TOD_GET, 0x50);
static_assertions::const_assert_eq!(TOD_SET, 0x51);
static_assertions::const_assert_eq!(CONS_GETCHAR, 0x60);
static_assertions::const_assert_eq!(CONS_PUTCHAR, 0x61);
static_assertions::const_assert_eq!(CONS_READ, 0x62);
static_assertions::const_assert_eq!(CONS_WRITE, 0x63);
static_assertions::const_assert_eq!(SOFT_STATE_SET, 0x70);
static_assertions::const_assert_eq!(SOFT_STATE_GET, 0x71);
static_assertions::const_assert_eq!(TTRACE_BUF_CONF, 0x90);
static_assertions::const_assert_eq!(DUMP_BUF_INFO, 0x95);
static_assertions::const_assert_eq!(INTR_DEVINO2SYSINO, 0xa0);
static_assertions::const_assert_eq!(INTR_SETTARGET, 0xa6);
static_assertions::const_assert_eq!(VINTR_GETCOOKIE, 0xa7);
static_assertions::const_assert_eq!(VINTR_SETTARGET, 0xae);
static_assertions::const_assert_eq!(PCI_IOMMU_MAP, 0xb0);
static_assertions::const_assert_eq!(PCI_DMA_SYNC, 0xb8);
static_assertions::const_assert_eq!(PCI_MSIQ_CONF, 0xc0);
static_assertions::const_assert_eq!(PCI_MSI_SETSTATE, 0xce);
static_assertions::const_assert_eq!(PCI_MSG_SETVALID, 0xd3);
static_assertions::const_assert_eq!(LDC_TX_QCONF, 0xe0);
static_assertions::const_assert_eq!(LDC_RX_SET_QHEAD, 0xe7);
static_assertions::const_assert_eq!(LDC_SET_MAP_TABLE, 0xea);
static_assertions::const_assert_eq!(LDC_REVOKE, 0xef);
static_assertions::const_assert_eq!(DISK_READ, 0xf0);
static_assertions::const_assert_eq!(DISK_WRITE, 0xf1);
static_assertions::const_assert_eq!(NIAGARA_GET_PERFREG, 0x100);
static_assertions::const_assert_eq!(NIAGARA_SET_PERFREG, 0x101);
static_assertions::const_assert_eq!(NIAGARA_MMUSTAT_CONF, 0x102);
static_assertions::const_assert_eq!(NIAGARA_MMUSTAT_INFO, 0x103);
static_assertions::const_assert_eq!(NCS_REQUEST, 0x110);
static_assertions::const_assert_eq!(NCS_SETHEAD_MARKER, 0x117);
static_assertions::const_assert_eq!(FIRE_GET_PERFREG, 0x120);
static_assertions::const_assert_eq!(DIAG_RA2PA, 0x200);
static_assertions::const_assert_eq!(DIAG_HEXEC, 0x201);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_sorted_unique_and_named() {
        assert!(FUNCTIONS.windows(2).all(|w| w[0].number < w[1].number));
        for f in FUNCTIONS {
            assert_eq!(function_info(f.number), Some(f));
            assert!(crate::group::name(f.group).is_some(), "{}", f.name);
            assert!(f.major >= 1);
            assert_eq!(f.name.to_ascii_lowercase(), f.name);
        }
    }

    #[test]
    fn ranges_complete() {
        for n in (0xa0..=0xae).chain(0xb0..=0xb8).chain(0xc0..=0xce).chain(0xd0..=0xd3) {
            assert!(function_info(n).is_some(), "{n:#x}");
        }
        for n in (0xe0..=0xe7).chain(0xea..=0xef) {
            assert_eq!(function_info(n).map(|f| f.group), Some(group::LDOM), "{n:#x}");
        }
        for n in 0x90..=0x95 {
            assert_eq!(function_info(n).map(|f| f.group), Some(group::CORE), "{n:#x}");
        }
        assert!(function_info(LDC_IRQ_CPU).is_none());
        assert!(function_info(0x03).is_none());
        assert!(function_info(u64::MAX).is_none());
    }

    #[test]
    fn versions_per_spec() {
        let core10 = |n: u64| function_info(n).unwrap().enabled_by(group::CORE, 1, 0);
        let core11 = |n: u64| function_info(n).unwrap().enabled_by(group::CORE, 1, 1);
        for n in [MACH_EXIT, MACH_DESC, CPU_START, CPU_YIELD, CONS_PUTCHAR, MMU_ENABLE, TOD_GET] {
            assert!(core10(n) && core11(n), "{n:#x}");
        }
        for n in [MACH_SET_WATCHDOG, CPU_STOP, CONS_READ, CONS_WRITE] {
            assert!(!core10(n) && core11(n), "{n:#x}");
        }
        let i = function_info(INTR_SETTARGET).unwrap();
        assert!(i.enabled_by(group::INTR, 1, 0) && !i.enabled_by(group::INTR, 2, 0));
        let v = function_info(VINTR_GETCOOKIE).unwrap();
        assert!(!v.enabled_by(group::INTR, 1, 0) && v.enabled_by(group::INTR, 2, 0));
        let s = function_info(SOFT_STATE_SET).unwrap();
        assert_eq!((s.group, s.major, s.minor), (group::SOFT_STATE, 1, 0));
        let p = function_info(NIAGARA_MMUSTAT_INFO).unwrap();
        assert_eq!((p.group, p.major, p.minor), (group::NIAG_PERF, 1, 0));
        assert!(!function_info(CONS_PUTCHAR).unwrap().enabled_by(group::INTR, 1, 0));
    }
}
