//! Logical domain channels: the LDOM group (0x101) 1.0 and the channel interrupts of the
//! INTR group's `vintr_*` calls (docs/ldc.md, hv-api.md §2.5, §2.6, §6).
//!
//! A **link** joins two endpoints (the ends of one `[[channel]]`): both ends' state sits
//! behind the link's one lock, so that a send (which moves packets from the sender's
//! transmit queue into the peer's receive queue) and every state change of either end are
//! one step each. The lock is a leaf below the domain lock (`Hypervisor` doc): a call
//! holds its own vCPU's and domain's locks, then the link's, and takes nothing else under
//! it.
//!
//! An interrupt raised here only becomes RECEIVED; its target vCPU's strand writes it into
//! the device mondo queue (only that strand has the queue's registers): the call collects
//! the vCPUs to ask in [`Context::kick`] and the hypervisor asks them once the call's locks
//! are dropped ([`Channels::deliver`]).

use crate::addr::{Pa, Ra};
use crate::guest_memory::GuestMemory;
use crate::hcall::{Context, Reply};
use crate::hv_config::{EndpointConfig, HvConfig, MAX_LDC_ENDPOINTS};
use crate::intr::state as intr_state;
use hv_api::error::HvError;
use hv_api::ldc::{Cookie, Mte, COPY_IN, COPY_OUT, MAPIN_BASE_RA, MAPIN_SLOT_SIZE, PACKET_SIZE};

/// Channel interrupt numbers (`tx-ino`, `rx-ino`) are below this: ldom-config gives
/// channel id n the numbers 0x20 + 2n and 0x21 + 2n, ids up to 63.
pub const INOS: u64 = 0x100;
/// Map-in slots per endpoint (pages of the peer an endpoint can have mapped at once).
pub const MAPIN_SLOTS: usize = 8;
/// Most bytes one `ldc_copy` moves (the call then reports a partial copy): bounds the
/// time a strand spends in the hypervisor.
pub const MAX_COPY: u64 = 64 * 1024;
/// The only page size channels take: 8 KiB (cookie and MTE size code 0).
pub const PAGE: u64 = 8192;
/// Bytes of a packet.
const PKT: u64 = PACKET_SIZE as u64;

/// Which of an endpoint's two interrupts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Which {
    /// `tx-ino`: room appeared in the peer's receive queue after an `EWOULDBLOCK`.
    Tx = 0,
    /// `rx-ino`: packets arrived, or the channel state changed.
    Rx = 1,
}

/// One of an endpoint's queues, as configured by `ldc_tx_qconf` / `ldc_rx_qconf`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct LdcQueue {
    /// Real address the guest gave.
    pub ra: u64,
    /// Physical address of the queue (checked inside the domain's memory).
    pub pa: u64,
    /// Entries; 0 = not configured.
    pub entries: u64,
    /// Head, a byte offset (multiple of 64).
    pub head: u64,
    /// Tail, a byte offset (multiple of 64).
    pub tail: u64,
}

impl LdcQueue {
    /// Size in bytes.
    pub fn bytes(&self) -> u64 {
        self.entries * PKT
    }
    /// Whether the queue is configured.
    pub fn configured(&self) -> bool {
        self.entries != 0
    }
    /// Bytes of packets between head and tail.
    pub fn used(&self) -> u64 {
        (self.tail + self.bytes() - self.head) % self.bytes().max(1)
    }
    /// Bytes that can still be added: one entry always stays free (head = tail is empty).
    pub fn room(&self) -> u64 {
        if self.configured() {
            self.bytes() - PKT - self.used()
        } else {
            0
        }
    }
}

/// A channel interrupt: (devhandle, devino) of the `channel-devices` node.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Vintr {
    /// What goes into word 0 of the device mondo (`vintr_setcookie`).
    pub cookie: u64,
    /// `vintr_setvalid`.
    pub valid: bool,
    /// IDLE, RECEIVED or DELIVERED ([`crate::intr::state`]).
    pub state: u64,
    /// Target vCPU id.
    pub target: u64,
}

impl Vintr {
    fn new(target: u64) -> Vintr {
        Vintr { cookie: 0, valid: false, state: intr_state::IDLE, target }
    }
}

/// A page of the peer mapped in by `ldc_mapin`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Mapin {
    /// The exporter's map-table index.
    pub index: u64,
    /// Physical address of the page.
    pub pa: u64,
    /// Permissions, as `ldc_mapin` returns them: 1 R, 2 W, 4 X.
    pub perms: u64,
    /// The revoke cookie written into the exporter's map-table entry.
    pub revoke_cookie: u64,
}

/// Map-in permission bits (the MTE's R/W/X shifted down by [`hv_api::ldc::MTE_PERM_SHIFT`]).
pub mod perm {
    /// Readable.
    pub const R: u64 = 1;
    /// Writable.
    pub const W: u64 = 2;
    /// Executable.
    pub const X: u64 = 4;
}

/// One endpoint's run-time state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EndpointState {
    /// Transmit queue (always empty between calls: a send moves its packets at once).
    pub tx: LdcQueue,
    /// Receive queue.
    pub rx: LdcQueue,
    /// The receive queue was reconfigured or unconfigured while configured: the peer sees
    /// RESET once.
    pub rx_updated: bool,
    /// The last send found no room in the peer's receive queue: the tx interrupt comes
    /// when there is.
    pub tx_blocked: bool,
    /// Map table: (RA, PA, entries); entries 0 = none.
    pub map_table: (u64, u64, u64),
    /// tx and rx interrupts ([`Which`]).
    pub vintr: [Vintr; 2],
    /// Pages of the peer this endpoint has mapped in, by slot.
    pub mapins: [Option<Mapin>; MAPIN_SLOTS],
}

impl EndpointState {
    /// The state at domain start: no queues, no map table, no map-ins, both interrupts
    /// invalid, IDLE, cookie 0, aimed at `boot_vid`.
    pub fn new(boot_vid: u64) -> EndpointState {
        EndpointState {
            tx: LdcQueue::default(),
            rx: LdcQueue::default(),
            rx_updated: false,
            tx_blocked: false,
            map_table: (0, 0, 0),
            vintr: [Vintr::new(boot_vid); 2],
            mapins: [None; MAPIN_SLOTS],
        }
    }
}

/// Both ends of one channel, behind one lock.
#[derive(Debug)]
pub struct Link {
    /// The endpoints (indices into [`HvConfig::endpoints`]); side 0 has the lower index.
    pub ends: [usize; 2],
    /// Their state, by side.
    pub state: crate::sync::Mutex<[EndpointState; 2]>,
}

/// Every channel of the configuration.
#[derive(Debug, Default)]
pub struct Channels {
    /// The links.
    pub links: heapless::Vec<Link, { MAX_LDC_ENDPOINTS / 2 }>,
    /// For each endpoint: (its link, its side).
    pub place: heapless::Vec<(usize, usize), MAX_LDC_ENDPOINTS>,
}

/// A set of vCPUs: bit i = vCPU i of the configuration (at most 32,
/// [`crate::hv_config::MAX_VCPUS`]).
pub type Kicks = u32;

/// What a call leaves the hypervisor to do once its locks are dropped: the vCPUs whose
/// strands deliver the channel interrupts it raised ([`Channels::deliver`]), and the vCPUs
/// whose TLBs are flushed (it ended map-ins) before it returns. Eight bytes: the hypercall
/// path tests "nothing to do" in one compare.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct AfterCall {
    /// vCPUs to ask for delivery.
    pub kick: Kicks,
    /// vCPUs whose TLBs are flushed.
    pub flush: Kicks,
}

impl AfterCall {
    /// Nothing to do.
    pub const NONE: AfterCall = AfterCall { kick: 0, flush: 0 };
}

impl Channels {
    /// The links of `config`'s endpoints, every endpoint in its start state.
    pub fn new(config: &HvConfig) -> Channels {
        let mut c = Channels::default();
        for (i, e) in config.endpoints.iter().enumerate() {
            if i < e.peer {
                let boot = |ep: &EndpointConfig| config.domains[ep.domain].bootcpu;
                let state = [EndpointState::new(boot(e)), EndpointState::new(boot(&config.endpoints[e.peer]))];
                let _ = c.links.push(Link { ends: [i, e.peer], state: crate::sync::Mutex::new(state) });
            }
        }
        for i in 0..config.endpoints.len() {
            let place = c
                .links
                .iter()
                .enumerate()
                .find_map(|(l, link)| link.ends.iter().position(|&e| e == i).map(|side| (l, side)));
            let _ = c.place.push(place.unwrap_or((0, 0)));
        }
        c
    }

    /// Runs `f` on endpoint `e`'s state and its peer's, under their link's lock.
    pub fn with<R>(&self, e: usize, f: impl FnOnce(&mut EndpointState, &mut EndpointState) -> R) -> R {
        let (link, side) = self.place[e];
        let mut s = self.links[link].state.lock();
        let [a, b] = &mut *s;
        if side == 0 {
            f(a, b)
        } else {
            f(b, a)
        }
    }

    /// Back to the start state for every endpoint of `domain` (it stops or restarts):
    /// queues, map table and map-ins gone, interrupts reset. Each peer sees DOWN and gets
    /// its rx interrupt; its map-ins of this domain's pages end. Returns the vCPUs to ask
    /// for delivery and the vCPUs whose TLBs must be flushed (the peers' importers).
    pub fn reset_domain(&self, config: &HvConfig, domain: usize) -> (Kicks, Kicks) {
        let (mut kicks, mut flush) = (0, 0);
        for (e, ep) in config.endpoints.iter().enumerate().filter(|(_, ep)| ep.domain == domain) {
            let peer_cfg = &config.endpoints[ep.peer];
            self.with(e, |me, peer| {
                *me = EndpointState::new(config.domains[domain].bootcpu);
                peer.tx_blocked = false;
                if peer.mapins.iter().any(|m| m.is_some()) {
                    peer.mapins = [None; MAPIN_SLOTS];
                    flush |= domain_vcpus(config, peer_cfg.domain);
                }
                kicks |= raise(config, peer_cfg, peer, Which::Rx);
            });
        }
        (kicks, flush)
    }

    /// Whether a raised interrupt of `vid`'s domain waits for delivery to `vid`, and
    /// delivers each one `deliver` accepts (it writes the cookie into the device mondo
    /// queue; `false` = the queue is full). Returns whether one is still waiting.
    pub fn deliver(&self, config: &HvConfig, domain: usize, vid: u64, mut deliver: impl FnMut(u64) -> bool) -> bool {
        let mut waiting = false;
        for (e, _) in config.endpoints.iter().enumerate().filter(|(_, ep)| ep.domain == domain) {
            self.with(e, |me, _| {
                for v in me.vintr.iter_mut().filter(|v| v.target == vid && v.state == intr_state::RECEIVED) {
                    if deliver(v.cookie) {
                        v.state = intr_state::DELIVERED;
                    } else {
                        waiting = true;
                    }
                }
            });
        }
        waiting
    }

    /// The physical page and permissions a map-in real address of `domain` stands for:
    /// `ra` inside the first 8 KiB of a live map-in slot of one of its endpoints.
    pub fn mapin_page(&self, config: &HvConfig, domain: usize, ra: u64) -> Option<(Pa, u64)> {
        let (e, slot, offset) = mapin_slot(ra)?;
        if offset >= PAGE || config.endpoints.get(e)?.domain != domain {
            return None;
        }
        self.with(e, |me, _| me.mapins[slot].map(|m| (Pa::new(m.pa), m.perms)))
    }
}

/// The vCPU indices of `domain`, as a bit set.
fn domain_vcpus(config: &HvConfig, domain: usize) -> Kicks {
    config.vcpus.iter().enumerate().filter(|(_, v)| v.domain == domain).fold(0, |k, (i, _)| k | 1 << i)
}

/// Raises `which` interrupt of endpoint `ep` (state `st`): a valid IDLE one becomes
/// RECEIVED, and its target vCPU must deliver it (the returned bit; 0 when nothing is to
/// be delivered).
fn raise(config: &HvConfig, ep: &EndpointConfig, st: &mut EndpointState, which: Which) -> Kicks {
    let v = &mut st.vintr[which as usize];
    if !v.valid || v.state != intr_state::IDLE {
        return 0;
    }
    v.state = intr_state::RECEIVED;
    config.vcpus.iter().position(|c| c.domain == ep.domain && c.vid == v.target).map_or(0, |i| 1 << i)
}

/// The map-in real address of slot `slot` of endpoint `e`.
pub fn mapin_ra(e: usize, slot: usize) -> u64 {
    MAPIN_BASE_RA + (e * MAPIN_SLOTS + slot) as u64 * MAPIN_SLOT_SIZE
}

/// (endpoint, slot, offset in the slot) of a real address in the map-in window.
fn mapin_slot(ra: u64) -> Option<(usize, usize, u64)> {
    let off = ra.checked_sub(MAPIN_BASE_RA)?;
    let n = (off / MAPIN_SLOT_SIZE) as usize;
    if n >= MAX_LDC_ENDPOINTS * MAPIN_SLOTS {
        return None;
    }
    Some((n / MAPIN_SLOTS, n % MAPIN_SLOTS, off % MAPIN_SLOT_SIZE))
}

/// Channel state of an endpoint as its peer's receive queue makes it (docs/ldc.md): RESET
/// once after the peer reconfigured or unconfigured it; then DOWN without one, else UP.
fn link_state(peer: &mut EndpointState) -> u64 {
    if core::mem::take(&mut peer.rx_updated) {
        hv_api::ldc::state::RESET
    } else if !peer.rx.configured() {
        hv_api::ldc::state::DOWN
    } else {
        hv_api::ldc::state::UP
    }
}

/// The calling domain's endpoint with channel id `channel`: its index. Errors: `ECHANNEL`.
fn endpoint(cx: &Context<'_>, channel: u64) -> Result<usize, HvError> {
    cx.hv_config.endpoints.iter().position(|e| e.domain == cx.domain_index && e.id == channel).ok_or(HvError::Channel)
}

/// A queue of `entries` packets at `ra` in the caller's memory: checked as
/// `ldc_tx_qconf` / `ldc_rx_qconf` check it (entries > 0).
fn check_queue(memory: &GuestMemory, ra: u64, entries: u64) -> Result<LdcQueue, HvError> {
    if !entries.is_power_of_two() {
        return Err(HvError::Inval);
    }
    let bytes = entries.checked_mul(PKT).ok_or(HvError::NoRAddr)?;
    if ra & (bytes - 1) != 0 {
        return Err(HvError::BadAlign);
    }
    let range = memory.range(Ra::new(ra), bytes)?;
    Ok(LdcQueue { ra, pa: range.pa().raw(), entries, head: 0, tail: 0 })
}

/// The reply of the `*_get_state` calls: head, tail, channel state.
fn ok3(head: u64, tail: u64, state: u64) -> Reply {
    Reply::ok3(head, tail, state as u16)
}

fn reply(r: Result<Reply, HvError>) -> Reply {
    r.unwrap_or_else(Reply::err)
}

/// `ldc_tx_qconf` (0xe0): `(channel, ra, entries)` configures the transmit queue (entries
/// 0 unconfigures it); head = tail = 0. Errors: `ECHANNEL`, `EINVAL` (entries not a power
/// of two), `EBADALIGN` (RA not aligned to the queue size), `ENORADDR` (docs/ldc.md).
pub fn ldc_tx_qconf(cx: &mut Context<'_>, channel: u64, ra: u64, entries: u64) -> Reply {
    reply((|| {
        let e = endpoint(cx, channel)?;
        let q = if entries == 0 { LdcQueue::default() } else { check_queue(&cx.config.memory, ra, entries)? };
        cx.channels.with(e, |me, _| {
            me.tx = q;
            me.tx_blocked = false;
        });
        Ok(Reply::ok())
    })())
}

/// `ldc_tx_qinfo` (0xe1): `(channel)` → RA, entries (0, 0 when unconfigured). Errors:
/// `ECHANNEL`.
pub fn ldc_tx_qinfo(cx: &mut Context<'_>, channel: u64) -> Reply {
    reply(endpoint(cx, channel).map(|e| cx.channels.with(e, |me, _| Reply::ok2(me.tx.ra, me.tx.entries))))
}

/// `ldc_tx_get_state` (0xe2): `(channel)` → head, tail, channel state. Errors: `ECHANNEL`,
/// `EINVAL` (no transmit queue).
pub fn ldc_tx_get_state(cx: &mut Context<'_>, channel: u64) -> Reply {
    reply((|| {
        let e = endpoint(cx, channel)?;
        cx.channels.with(e, |me, peer| {
            if !me.tx.configured() {
                return Err(HvError::Inval);
            }
            Ok(ok3(me.tx.head, me.tx.tail, link_state(peer)))
        })
    })())
}

/// `ldc_tx_set_qtail` (0xe3): `(channel, tail)` sends the packets from the current tail to
/// `tail`: all of them move into the peer's receive queue and raise its rx interrupt, or,
/// when the peer has no receive queue or no room for all, none moves and the call answers
/// `EWOULDBLOCK` (the tx interrupt comes once there is room). Errors: `ECHANNEL`,
/// `EBADALIGN`, `EINVAL` (no transmit queue, tail beyond it), `EWOULDBLOCK`.
pub fn ldc_tx_set_qtail(cx: &mut Context<'_>, channel: u64, tail: u64) -> Reply {
    let e = match endpoint(cx, channel) {
        Ok(e) => e,
        Err(err) => return Reply::err(err),
    };
    if !tail.is_multiple_of(PKT) {
        return Reply::err(HvError::BadAlign);
    }
    let peer_cfg = cx.hv_config.endpoints[cx.hv_config.endpoints[e].peer];
    let (hw, config) = (&mut *cx.hw, cx.hv_config);
    let mut kicks = 0;
    let r = cx.channels.with(e, |me, peer| {
        if !me.tx.configured() || tail >= me.tx.bytes() {
            return Reply::err(HvError::Inval);
        }
        let bytes = (tail + me.tx.bytes() - me.tx.tail) % me.tx.bytes();
        if bytes == 0 {
            return Reply::ok();
        }
        if peer.rx.room() < bytes {
            me.tx_blocked = true;
            return Reply::err(HvError::WouldBlock);
        }
        let mut from = me.tx.tail;
        while from != tail {
            hw.copy_phys(Pa::new(peer.rx.pa + peer.rx.tail), Pa::new(me.tx.pa + from), PKT);
            peer.rx.tail = (peer.rx.tail + PKT) % peer.rx.bytes();
            from = (from + PKT) % me.tx.bytes();
        }
        me.tx.head = tail;
        me.tx.tail = tail;
        kicks |= raise(config, &peer_cfg, peer, Which::Rx);
        Reply::ok()
    });
    cx.after.kick |= kicks;
    r
}

/// `ldc_rx_qconf` (0xe4): `(channel, ra, entries)` configures the receive queue (entries
/// 0 unconfigures it); head = tail = 0, packets in it are dropped, and the peer sees
/// RESET if there was one, and gets its rx interrupt. Errors as [`ldc_tx_qconf`].
pub fn ldc_rx_qconf(cx: &mut Context<'_>, channel: u64, ra: u64, entries: u64) -> Reply {
    reply((|| {
        let e = endpoint(cx, channel)?;
        let q = if entries == 0 { LdcQueue::default() } else { check_queue(&cx.config.memory, ra, entries)? };
        let peer_cfg = cx.hv_config.endpoints[cx.hv_config.endpoints[e].peer];
        let config = cx.hv_config;
        let kicks = cx.channels.with(e, |me, peer| {
            if me.rx.configured() {
                me.rx_updated = true;
            }
            me.rx = q;
            let mut k = raise(config, &peer_cfg, peer, Which::Rx);
            if q.configured() && core::mem::take(&mut peer.tx_blocked) {
                k |= raise(config, &peer_cfg, peer, Which::Tx);
            }
            k
        });
        cx.after.kick |= kicks;
        Ok(Reply::ok())
    })())
}

/// `ldc_rx_qinfo` (0xe5): `(channel)` → RA, entries. Errors: `ECHANNEL`.
pub fn ldc_rx_qinfo(cx: &mut Context<'_>, channel: u64) -> Reply {
    reply(endpoint(cx, channel).map(|e| cx.channels.with(e, |me, _| Reply::ok2(me.rx.ra, me.rx.entries))))
}

/// `ldc_rx_get_state` (0xe6): `(channel)` → head, tail, channel state. Errors: `ECHANNEL`,
/// `EINVAL` (no receive queue).
pub fn ldc_rx_get_state(cx: &mut Context<'_>, channel: u64) -> Reply {
    reply((|| {
        let e = endpoint(cx, channel)?;
        cx.channels.with(e, |me, peer| {
            if !me.rx.configured() {
                return Err(HvError::Inval);
            }
            Ok(ok3(me.rx.head, me.rx.tail, link_state(peer)))
        })
    })())
}

/// `ldc_rx_set_qhead` (0xe7): `(channel, head)` frees the packets before `head`, which
/// must lie from the current head to the tail. A peer that was refused for room gets its
/// tx interrupt. Errors: `ECHANNEL`, `EBADALIGN`, `EINVAL`.
pub fn ldc_rx_set_qhead(cx: &mut Context<'_>, channel: u64, head: u64) -> Reply {
    let e = match endpoint(cx, channel) {
        Ok(e) => e,
        Err(err) => return Reply::err(err),
    };
    if !head.is_multiple_of(PKT) {
        return Reply::err(HvError::BadAlign);
    }
    let peer_cfg = cx.hv_config.endpoints[cx.hv_config.endpoints[e].peer];
    let config = cx.hv_config;
    let mut kicks = 0;
    let r = cx.channels.with(e, |me, peer| {
        let q = &mut me.rx;
        if !q.configured() || head >= q.bytes() {
            return Reply::err(HvError::Inval);
        }
        let advance = (head + q.bytes() - q.head) % q.bytes();
        if advance > q.used() {
            return Reply::err(HvError::Inval);
        }
        q.head = head;
        if advance > 0 && core::mem::take(&mut peer.tx_blocked) {
            kicks |= raise(config, &peer_cfg, peer, Which::Tx);
        }
        Reply::ok()
    });
    cx.after.kick |= kicks;
    r
}

/// `ldc_set_map_table` (0xea): `(channel, ra, entries)` registers the pages the endpoint
/// exports (entries 0 removes the table). Errors: `ECHANNEL`, `EINVAL` (entries < 2,
/// ≥ 2^30 or not a power of two), `EBADALIGN` (RA not 64-byte aligned), `ENORADDR`.
pub fn ldc_set_map_table(cx: &mut Context<'_>, channel: u64, ra: u64, entries: u64) -> Reply {
    use hv_api::ldc::{MAP_TABLE_ALIGNMENT, MAP_TABLE_ENTRIES_LIMIT, MAP_TABLE_ENTRY_SIZE, MAP_TABLE_MIN_ENTRIES};
    reply((|| {
        let e = endpoint(cx, channel)?;
        let table = if entries == 0 {
            (0, 0, 0)
        } else {
            if !(MAP_TABLE_MIN_ENTRIES..MAP_TABLE_ENTRIES_LIMIT).contains(&entries) || !entries.is_power_of_two() {
                return Err(HvError::Inval);
            }
            if !ra.is_multiple_of(MAP_TABLE_ALIGNMENT) {
                return Err(HvError::BadAlign);
            }
            let range = cx.config.memory.range(Ra::new(ra), entries * MAP_TABLE_ENTRY_SIZE)?;
            (ra, range.pa().raw(), entries)
        };
        cx.channels.with(e, |me, _| me.map_table = table);
        Ok(Reply::ok())
    })())
}

/// `ldc_get_map_table` (0xeb): `(channel)` → RA, entries (0, 0 when none). Errors:
/// `ECHANNEL`.
pub fn ldc_get_map_table(cx: &mut Context<'_>, channel: u64) -> Reply {
    reply(endpoint(cx, channel).map(|e| cx.channels.with(e, |me, _| Reply::ok2(me.map_table.0, me.map_table.2))))
}

/// The exporter's map-table entry a cookie names, with the decoded cookie. Errors: `ENOMAP`
/// (no table, index beyond it), `EBADPGSZ` (cookie or MTE not an 8 KiB page).
fn map_entry(
    hw: &mut dyn crate::hardware::Hardware,
    exporter: &EndpointState,
    cookie: u64,
) -> Result<(Mte, Cookie), HvError> {
    let (_, table_pa, entries) = exporter.map_table;
    if entries == 0 {
        return Err(HvError::NoMap);
    }
    let c = Cookie::decode(cookie).ok_or(HvError::BadPgSz)?;
    if c.size_code != 0 {
        return Err(HvError::BadPgSz);
    }
    if c.index >= entries {
        return Err(HvError::NoMap);
    }
    let mut word = [0u64; 1];
    hw.read_phys_words(Pa::new(table_pa + c.index * hv_api::ldc::MAP_TABLE_ENTRY_SIZE), &mut word);
    let mte = Mte(word[0]);
    if mte.size_code() != 0 {
        return Err(HvError::BadPgSz);
    }
    Ok((mte, c))
}

/// The physical address of the page an MTE names, checked to lie in the exporter's
/// memory. Errors: `ENORADDR`.
fn exported_page(memory: &GuestMemory, mte: Mte) -> Result<Pa, HvError> {
    Ok(memory.range(Ra::new(mte.ra()), PAGE)?.pa())
}

/// `ldc_copy` (0xec): `(channel, direction, cookie, ra, length)` → bytes copied: copies
/// between `[ra, ra + length)` of the caller and the peer's exported pages from `cookie`
/// on (direction 0 in: peer → caller; 1 out), entry after entry of the peer's map table,
/// at most [`MAX_COPY`] bytes. It stops at the first entry that does not allow the copy;
/// that entry's error is the call's only when nothing was copied. Errors: `ECHANNEL`,
/// `EINVAL` (direction, length 0), `EBADALIGN` (cookie, RA or length not 8-byte aligned),
/// `ENORADDR`, `ENOMAP`, `EBADPGSZ`, `ENOACCESS` (the MTE lacks copy-in / copy-out).
pub fn ldc_copy(cx: &mut Context<'_>, channel: u64, direction: u64, cookie: u64, ra: u64, length: u64) -> Reply {
    reply((|| {
        let e = endpoint(cx, channel)?;
        if direction > COPY_OUT || length == 0 {
            return Err(HvError::Inval);
        }
        if (cookie | ra | length) & 7 != 0 {
            return Err(HvError::BadAlign);
        }
        let local = cx.config.memory.range(Ra::new(ra), length)?;
        let peer_memory = cx.hv_config.domains[cx.hv_config.endpoints[cx.hv_config.endpoints[e].peer].domain].memory;
        let need = if direction == COPY_IN { Mte::CPR } else { Mte::CPW };
        let length = length.min(MAX_COPY);
        let hw = &mut *cx.hw;
        cx.channels.with(e, |_, peer| {
            let mut done = 0;
            while done < length {
                let page = map_entry(hw, peer, cookie.wrapping_add(done)).and_then(|(mte, c)| {
                    if !mte.allows(need) {
                        return Err(HvError::NoAccess);
                    }
                    Ok((exported_page(&peer_memory, mte)?, c))
                });
                let (pa, c) = match page {
                    Ok(p) => p,
                    Err(err) if done == 0 => return Err(err),
                    Err(_) => break,
                };
                let n = (PAGE - c.offset).min(length - done);
                let (remote, mine) = (pa.add(c.offset), local.pa().add(done));
                if direction == COPY_IN {
                    hw.copy_phys(mine, remote, n);
                } else {
                    hw.copy_phys(remote, mine, n);
                }
                done += n;
            }
            Ok(Reply::ok1(done))
        })
    })())
}

/// `ldc_mapin` (0xed): `(channel, cookie)` → RA, permissions: maps the peer's exported
/// page into the caller's map-in window (docs/ldc.md). Errors: `ECHANNEL`, `ENOMAP`,
/// `EBADPGSZ`, `ENORADDR`, `ENOACCESS` (the MTE allows none of R, W, X), `ETOOMANY` (no
/// free slot).
pub fn ldc_mapin(cx: &mut Context<'_>, channel: u64, cookie: u64) -> Reply {
    reply((|| {
        let e = endpoint(cx, channel)?;
        let peer_memory = cx.hv_config.domains[cx.hv_config.endpoints[cx.hv_config.endpoints[e].peer].domain].memory;
        let hw = &mut *cx.hw;
        let stick = hw.stick();
        cx.channels.with(e, |me, peer| {
            let (mte, c) = map_entry(hw, peer, cookie)?;
            let pa = exported_page(&peer_memory, mte)?;
            let perms = (mte.perms() >> hv_api::ldc::MTE_PERM_SHIFT) & (perm::R | perm::W | perm::X);
            if perms == 0 {
                return Err(HvError::NoAccess);
            }
            let slot = me.mapins.iter().position(|m| m.is_none()).ok_or(HvError::TooMany)?;
            // Unique per map-in: the slot's place and the clock.
            let revoke_cookie = (stick << 16) | ((e * MAPIN_SLOTS + slot) as u64) | 1 << 15;
            let entry = peer.map_table.1 + c.index * hv_api::ldc::MAP_TABLE_ENTRY_SIZE;
            hw.write_phys_words(Pa::new(entry + 8), &[revoke_cookie]);
            me.mapins[slot] = Some(Mapin { index: c.index, pa: pa.raw(), perms, revoke_cookie });
            Ok(Reply::ok2(mapin_ra(e, slot) + c.offset, perms))
        })
    })())
}

/// `ldc_unmap` (0xee): `(ra)` ends the caller's map-in that `ra` lies in; every strand
/// of the caller's domain flushes its TLBs before the call returns. Errors: `EINVAL` (not
/// a live map-in of the caller).
pub fn ldc_unmap(cx: &mut Context<'_>, ra: u64) -> Reply {
    let Some((e, slot, offset)) = mapin_slot(ra) else { return Reply::err(HvError::Inval) };
    if offset >= PAGE || cx.hv_config.endpoints.get(e).is_none_or(|ep| ep.domain != cx.domain_index) {
        return Reply::err(HvError::Inval);
    }
    let live = cx.channels.with(e, |me, _| me.mapins[slot].take().is_some());
    if !live {
        return Reply::err(HvError::Inval);
    }
    cx.after.flush |= domain_vcpus(cx.hv_config, cx.domain_index);
    Reply::ok()
}

/// `ldc_revoke` (0xef): `(channel, cookie, revoke_cookie)` ends the peer's map-in of the
/// caller's page that `cookie` names, given the revoke cookie `ldc_mapin` wrote into its
/// map-table entry; every strand of the peer flushes its TLBs before the call returns.
/// Errors: `ECHANNEL`, `EINVAL` (no such map-in).
pub fn ldc_revoke(cx: &mut Context<'_>, channel: u64, cookie: u64, revoke_cookie: u64) -> Reply {
    reply((|| {
        let e = endpoint(cx, channel)?;
        let c = Cookie::decode(cookie).filter(|c| c.size_code == 0).ok_or(HvError::Inval)?;
        let found = cx.channels.with(e, |_, peer| {
            let m = peer
                .mapins
                .iter_mut()
                .find(|m| m.is_some_and(|m| m.index == c.index && m.revoke_cookie == revoke_cookie));
            m.map(|m| m.take()).is_some()
        });
        if !found {
            return Err(HvError::Inval);
        }
        cx.after.flush |= domain_vcpus(cx.hv_config, cx.hv_config.endpoints[cx.hv_config.endpoints[e].peer].domain);
        Ok(Reply::ok())
    })())
}

/// The caller's endpoint and interrupt that (devhandle, devino) name: devhandle is the
/// guest MD's `channel-devices` `cfg-handle`, devino an endpoint's `tx-ino` or `rx-ino`.
fn vintr_of(cx: &Context<'_>, devhandle: u64, devino: u64) -> Result<(usize, Which), HvError> {
    if cx.domain.interrupts.channel_devhandle != Some(devhandle) {
        return Err(HvError::Inval);
    }
    cx.hv_config
        .endpoints
        .iter()
        .enumerate()
        .filter(|(_, ep)| ep.domain == cx.domain_index)
        .find_map(|(i, ep)| {
            if ep.tx_ino == devino {
                Some((i, Which::Tx))
            } else if ep.rx_ino == devino {
                Some((i, Which::Rx))
            } else {
                None
            }
        })
        .ok_or(HvError::Inval)
}

/// Runs a `vintr_*` call on the interrupt (devhandle, devino) names; after a call that
/// may re-arm it (`rearm`: setvalid, setstate), an rx interrupt now valid and IDLE while
/// packets wait in the receive queue is raised at once.
#[inline(never)]
fn vintr_call(
    cx: &mut Context<'_>,
    devhandle: u64,
    devino: u64,
    rearm: bool,
    f: impl FnOnce(&mut Vintr) -> Result<Reply, HvError>,
) -> Reply {
    reply((|| {
        let (e, which) = vintr_of(cx, devhandle, devino)?;
        let ep = cx.hv_config.endpoints[e];
        let config = cx.hv_config;
        let (r, kicks) = cx.channels.with(e, |me, _| {
            let r = f(&mut me.vintr[which as usize])?;
            // An rx interrupt made valid and IDLE while packets wait comes again at once.
            let mut k = 0;
            if rearm && which == Which::Rx && me.rx.used() != 0 {
                k = raise(config, &ep, me, Which::Rx);
            }
            Ok::<_, HvError>((r, k))
        })?;
        cx.after.kick |= kicks;
        Ok(r)
    })())
}

/// `vintr_getcookie` (0xa7): `(devhandle, devino)` → cookie. Errors: `EINVAL`.
pub fn vintr_getcookie(cx: &mut Context<'_>, devhandle: u64, devino: u64) -> Reply {
    vintr_call(cx, devhandle, devino, false, |v| Ok(Reply::ok1(v.cookie)))
}

/// `vintr_setcookie` (0xa8): `(devhandle, devino, cookie)`. Errors: `EINVAL`.
pub fn vintr_setcookie(cx: &mut Context<'_>, devhandle: u64, devino: u64, cookie: u64) -> Reply {
    vintr_call(cx, devhandle, devino, false, |v| {
        v.cookie = cookie;
        Ok(Reply::ok())
    })
}

/// `vintr_getvalid` (0xa9): `(devhandle, devino)` → 0 invalid, 1 valid. Errors: `EINVAL`.
pub fn vintr_getvalid(cx: &mut Context<'_>, devhandle: u64, devino: u64) -> Reply {
    vintr_call(cx, devhandle, devino, false, |v| Ok(Reply::ok1(v.valid as u64)))
}

/// `vintr_setvalid` (0xaa): `(devhandle, devino, valid)`, valid 0 or 1. Errors: `EINVAL`.
pub fn vintr_setvalid(cx: &mut Context<'_>, devhandle: u64, devino: u64, valid: u64) -> Reply {
    vintr_call(cx, devhandle, devino, true, |v| {
        if valid > 1 {
            return Err(HvError::Inval);
        }
        v.valid = valid == 1;
        Ok(Reply::ok())
    })
}

/// `vintr_getstate` (0xab): `(devhandle, devino)` → 0 IDLE, 1 RECEIVED, 2 DELIVERED.
/// Errors: `EINVAL`.
pub fn vintr_getstate(cx: &mut Context<'_>, devhandle: u64, devino: u64) -> Reply {
    vintr_call(cx, devhandle, devino, false, |v| Ok(Reply::ok1(v.state)))
}

/// `vintr_setstate` (0xac): `(devhandle, devino, state)`, state 0–2; IDLE re-arms it.
/// Errors: `EINVAL`.
pub fn vintr_setstate(cx: &mut Context<'_>, devhandle: u64, devino: u64, state: u64) -> Reply {
    vintr_call(cx, devhandle, devino, true, |v| {
        if state > intr_state::DELIVERED {
            return Err(HvError::Inval);
        }
        v.state = state;
        Ok(Reply::ok())
    })
}

/// `vintr_gettarget` (0xad): `(devhandle, devino)` → vCPU id. Errors: `EINVAL`.
pub fn vintr_gettarget(cx: &mut Context<'_>, devhandle: u64, devino: u64) -> Reply {
    vintr_call(cx, devhandle, devino, false, |v| Ok(Reply::ok1(v.target)))
}

/// `vintr_settarget` (0xae): `(devhandle, devino, cpuid)`. Errors: `EINVAL`, `ENOCPU`
/// (not a vCPU of the domain).
pub fn vintr_settarget(cx: &mut Context<'_>, devhandle: u64, devino: u64, cpuid: u64) -> Reply {
    let known = cx.has_vcpu(cpuid);
    vintr_call(cx, devhandle, devino, false, |v| {
        if !known {
            return Err(HvError::NoCpu);
        }
        v.target = cpuid;
        Ok(Reply::ok())
    })
}
