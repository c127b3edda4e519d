//! Logical Domain Channels: packet format, handshake messages, channel
//! states, map-table entries and cookies.
//!
//! Source: hv-api.md §2.6, §6; OSH `src/greatlakes/common/include/ldc.h`,
//! `src/greatlakes/common/src/ldc.s`; LNX-LDC; OBSD `ldcvar.h`.

use crate::mmu::PageSize;

/// Size of an LDC packet / queue entry (hv-api.md §6.2; `LDC_PACKET_SIZE`).
pub const PACKET_SIZE: usize = 64;

/// Packet `type` byte values (hv-api.md §6.2).
pub mod pkt_type {
    /// Control packet.
    pub const CTRL: u8 = 0x01;
    /// Data packet.
    pub const DATA: u8 = 0x02;
    /// Error packet.
    pub const ERR: u8 = 0x10;
}

/// Packet `stype` byte values (hv-api.md §6.2).
pub mod stype {
    /// Information.
    pub const INFO: u8 = 0x01;
    /// Acknowledgement.
    pub const ACK: u8 = 0x02;
    /// Negative acknowledgement.
    pub const NACK: u8 = 0x04;
}

/// Control message codes in `ctrl` of CTRL packets (hv-api.md §6.2, §6.3).
pub mod ctrl {
    /// Version negotiation.
    pub const VERS: u8 = 0x01;
    /// Request to send.
    pub const RTS: u8 = 0x02;
    /// Ready to receive.
    pub const RTR: u8 = 0x03;
    /// Ready for data exchange.
    pub const RDX: u8 = 0x04;
    /// Mask of the control code.
    pub const MASK: u8 = 0x0f;
}

/// Fields of the `env` byte of DATA packets (hv-api.md §6.2).
pub mod env {
    /// Bits 5:0: payload length.
    pub const LEN_MASK: u8 = 0x3f;
    /// Bit 6: first fragment.
    pub const START: u8 = 0x40;
    /// Bit 7: last fragment.
    pub const STOP: u8 = 0x80;
}

/// Link modes, carried in `env` of RTS/RTR (hv-api.md §6.2).
pub mod mode {
    /// Raw: the whole 64 bytes are payload, no handshake.
    pub const RAW: u8 = 0;
    /// Unreliable.
    pub const UNRELIABLE: u8 = 1;
    /// Reserved (LNX `LDC_MODE_RESERVED`).
    pub const RESERVED: u8 = 2;
    /// Stream (LNX); OBSD calls 3 "reliable" (hv-api.md §6.2 ⚠).
    pub const STREAM: u8 = 3;
    /// OBSD's name for mode 3.
    pub const RELIABLE: u8 = 3;
}

/// Channel states returned by `ldc_*_get_state` (hv-api.md §2.6, §6.1).
pub mod state {
    /// Down.
    pub const DOWN: u64 = 0;
    /// Up.
    pub const UP: u64 = 1;
    /// Reset (LNX `LDC_CHANNEL_RESETTING`).
    pub const RESET: u64 = 2;
}

/// `ldc_copy` direction: remote → local (needs CPR) (hv-api.md §2.6, §6.4).
pub const COPY_IN: u64 = 0;
/// `ldc_copy` direction: local → remote (needs CPW) (hv-api.md §2.6, §6.4).
pub const COPY_OUT: u64 = 1;
/// `ldc_mapin` permission: read (hv-api.md §2.6).
pub const MAPIN_R: u64 = 1;
/// `ldc_mapin` permission: write (hv-api.md §2.6).
pub const MAPIN_W: u64 = 2;
/// `ldc_mapin` permission: execute (hv-api.md §2.6).
pub const MAPIN_X: u64 = 4;
/// Base RA of the HV's map-in window (OSH: 0x10 << 34) (hv-api.md §6.4).
pub const MAPIN_BASE_RA: u64 = 0x40_0000_0000;
/// Number of map-in slots (hv-api.md §6.4).
pub const MAPIN_SLOTS: u64 = 4096;
/// Distance between map-in slots: 2^28 (hv-api.md §6.4).
pub const MAPIN_SLOT_SIZE: u64 = 1 << 28;
/// Maximum bytes of packets the OSH HV copies per call (`LDC_MAX_PKT_COPY`) (hv-api.md §6.1).
pub const MAX_PKT_COPY: u64 = 8192;
/// Queue entries OSH uses for console channels (hv-api.md §6.1).
pub const CONSOLE_QUEUE_ENTRIES: u64 = 128;

/// One 64-byte LDC packet, big-endian (hv-api.md §6.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Packet(pub [u8; PACKET_SIZE]);

impl Default for Packet {
    fn default() -> Self {
        Packet([0; PACKET_SIZE])
    }
}

/// A decoded handshake control packet (hv-api.md §6.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Handshake {
    /// VERS with the offered / agreed version.
    Vers {
        /// INFO, ACK or NACK.
        stype: u8,
        /// Major version (u16 at offset 8).
        major: u16,
        /// Minor version (u16 at offset 10).
        minor: u16,
    },
    /// RTS with the requested mode and initial sequence number.
    Rts {
        /// INFO, ACK or NACK.
        stype: u8,
        /// Link mode ([`mode`]).
        mode: u8,
        /// Sequence number.
        seqid: u32,
    },
    /// RTR with the mode and sequence number.
    Rtr {
        /// INFO, ACK or NACK.
        stype: u8,
        /// Link mode ([`mode`]).
        mode: u8,
        /// Sequence number.
        seqid: u32,
    },
    /// RDX with the next sequence number and last received id.
    Rdx {
        /// INFO, ACK or NACK.
        stype: u8,
        /// Sequence number.
        seqid: u32,
        /// Ack id.
        ackid: u32,
    },
}

impl Packet {
    /// Offset of `type` (hv-api.md §6.2).
    pub const TYPE_OFF: usize = 0;
    /// Offset of `stype` (hv-api.md §6.2).
    pub const STYPE_OFF: usize = 1;
    /// Offset of `ctrl` (hv-api.md §6.2).
    pub const CTRL_OFF: usize = 2;
    /// Offset of `env` (hv-api.md §6.2).
    pub const ENV_OFF: usize = 3;
    /// Offset of `seqid` (hv-api.md §6.2).
    pub const SEQID_OFF: usize = 4;
    /// Offset of the payload in unreliable mode (56 bytes) (hv-api.md §6.2).
    pub const UNRELIABLE_PAYLOAD_OFF: usize = 8;
    /// Offset of `ackid` in reliable/stream mode (hv-api.md §6.2).
    pub const ACKID_OFF: usize = 12;
    /// Offset of the payload in reliable/stream mode (48 bytes) (hv-api.md §6.2).
    pub const RELIABLE_PAYLOAD_OFF: usize = 16;
    /// Offset of the VERS major (u16) (hv-api.md §6.2).
    pub const VERS_MAJOR_OFF: usize = 8;
    /// Offset of the VERS minor (u16) (hv-api.md §6.2).
    pub const VERS_MINOR_OFF: usize = 10;

    /// A packet with the four header bytes and seqid set, rest zero (hv-api.md §6.2).
    pub fn new(ty: u8, stype: u8, ctrl: u8, env: u8, seqid: u32) -> Packet {
        let mut p = Packet::default();
        p.0[Self::TYPE_OFF] = ty;
        p.0[Self::STYPE_OFF] = stype;
        p.0[Self::CTRL_OFF] = ctrl;
        p.0[Self::ENV_OFF] = env;
        p.set_seqid(seqid);
        p
    }

    /// `type` byte.
    pub fn pkt_type(&self) -> u8 {
        self.0[Self::TYPE_OFF]
    }
    /// `stype` byte.
    pub fn stype(&self) -> u8 {
        self.0[Self::STYPE_OFF]
    }
    /// `ctrl` byte, masked with [`ctrl::MASK`].
    pub fn ctrl(&self) -> u8 {
        self.0[Self::CTRL_OFF] & ctrl::MASK
    }
    /// `env` byte.
    pub fn env(&self) -> u8 {
        self.0[Self::ENV_OFF]
    }
    /// `seqid` (u32 at 4).
    pub fn seqid(&self) -> u32 {
        self.u32_at(Self::SEQID_OFF)
    }
    /// Sets `seqid`.
    pub fn set_seqid(&mut self, seqid: u32) {
        self.0[4..8].copy_from_slice(&seqid.to_be_bytes());
    }
    /// `ackid` (u32 at 12; reliable/stream mode and RDX).
    pub fn ackid(&self) -> u32 {
        self.u32_at(Self::ACKID_OFF)
    }
    /// Sets `ackid`.
    pub fn set_ackid(&mut self, ackid: u32) {
        self.0[12..16].copy_from_slice(&ackid.to_be_bytes());
    }
    /// Payload in unreliable mode (bytes 8..64).
    pub fn unreliable_payload(&self) -> &[u8] {
        &self.0[Self::UNRELIABLE_PAYLOAD_OFF..]
    }
    /// Payload in reliable/stream mode (bytes 16..64).
    pub fn reliable_payload(&self) -> &[u8] {
        &self.0[Self::RELIABLE_PAYLOAD_OFF..]
    }
    /// DATA packet payload length from `env` bits 5:0 (hv-api.md §6.2).
    pub fn data_len(&self) -> usize {
        (self.env() & env::LEN_MASK) as usize
    }

    fn u32_at(&self, o: usize) -> u32 {
        u32::from_be_bytes([self.0[o], self.0[o + 1], self.0[o + 2], self.0[o + 3]])
    }

    fn u16_at(&self, o: usize) -> u16 {
        u16::from_be_bytes([self.0[o], self.0[o + 1]])
    }

    /// CTRL/`stype`/VERS with `major.minor` (hv-api.md §6.3 step 1–2).
    pub fn vers(stype: u8, major: u16, minor: u16) -> Packet {
        let mut p = Packet::new(pkt_type::CTRL, stype, ctrl::VERS, 0, 0);
        p.0[8..10].copy_from_slice(&major.to_be_bytes());
        p.0[10..12].copy_from_slice(&minor.to_be_bytes());
        p
    }

    /// CTRL/INFO/RTS with `mode` in env and `seqid` (hv-api.md §6.3 step 3).
    pub fn rts(mode: u8, seqid: u32) -> Packet {
        Packet::new(pkt_type::CTRL, stype::INFO, ctrl::RTS, mode, seqid)
    }

    /// CTRL/INFO/RTR with `mode` in env and `seqid` (hv-api.md §6.3 step 4).
    pub fn rtr(mode: u8, seqid: u32) -> Packet {
        Packet::new(pkt_type::CTRL, stype::INFO, ctrl::RTR, mode, seqid)
    }

    /// CTRL/INFO/RDX with `seqid` and `ackid` (hv-api.md §6.3 step 5).
    pub fn rdx(seqid: u32, ackid: u32) -> Packet {
        let mut p = Packet::new(pkt_type::CTRL, stype::INFO, ctrl::RDX, 0, seqid);
        p.set_ackid(ackid);
        p
    }

    /// Decodes a handshake control packet; `None` for anything else (hv-api.md §6.3).
    pub fn handshake(&self) -> Option<Handshake> {
        if self.pkt_type() != pkt_type::CTRL {
            return None;
        }
        let st = self.stype();
        Some(match self.ctrl() {
            ctrl::VERS => Handshake::Vers {
                stype: st,
                major: self.u16_at(Self::VERS_MAJOR_OFF),
                minor: self.u16_at(Self::VERS_MINOR_OFF),
            },
            ctrl::RTS => Handshake::Rts { stype: st, mode: self.env(), seqid: self.seqid() },
            ctrl::RTR => Handshake::Rtr { stype: st, mode: self.env(), seqid: self.seqid() },
            ctrl::RDX => Handshake::Rdx { stype: st, seqid: self.seqid(), ackid: self.ackid() },
            _ => return None,
        })
    }
}

/// Size of a map-table entry: MTE word + HV cookie word (hv-api.md §6.4).
pub const MAP_TABLE_ENTRY_SIZE: u64 = 16;
/// Alignment of a map table (hv-api.md §6.4).
pub const MAP_TABLE_ALIGNMENT: u64 = 64;
/// Minimum map-table entries (hv-api.md §6.4).
pub const MAP_TABLE_MIN_ENTRIES: u64 = 2;
/// Map tables must have fewer than this many entries (2^30) (hv-api.md §6.4).
pub const MAP_TABLE_ENTRIES_LIMIT: u64 = 1 << 30;
/// Shift between MTE permission bits and OSH's internal numbering
/// (`LDC_MTE_PERM_SHIFT`) (hv-api.md §6.4).
pub const MTE_PERM_SHIFT: u32 = 4;

/// A map-table entry word (MTE) (hv-api.md §6.4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[repr(transparent)]
pub struct Mte(pub u64);

impl Mte {
    /// Bits 3:0: page-size code.
    pub const SZ_MASK: u64 = 0xf;
    /// Bit 4: map-in read.
    pub const R: u64 = 0x010;
    /// Bit 5: map-in write.
    pub const W: u64 = 0x020;
    /// Bit 6: map-in execute.
    pub const X: u64 = 0x040;
    /// Bit 7: IOMMU read.
    pub const IOR: u64 = 0x080;
    /// Bit 8: IOMMU write.
    pub const IOW: u64 = 0x100;
    /// Bit 9: copy-in (ldc_copy COPY_IN) allowed.
    pub const CPR: u64 = 0x200;
    /// Bit 10: copy-out (ldc_copy COPY_OUT) allowed.
    pub const CPW: u64 = 0x400;
    /// All permission bits, 10:4.
    pub const PERM_MASK: u64 = 0x7f0;
    /// Bits 55:13: RA of the exported page (hv-api.md §6.4 ⚠: masks differ
    /// between sources; 55:13 is used and the rest kept 0).
    pub const RA_MASK: u64 = 0x00ff_ffff_ffff_e000;

    /// MTE for the page at `ra` with `size` and permission bits `perms`
    /// (hv-api.md §6.4).
    pub const fn new(ra: u64, size: PageSize, perms: u64) -> Mte {
        Mte((ra & Self::RA_MASK) | (perms & Self::PERM_MASK) | size.code())
    }
    /// RA field in place.
    pub const fn ra(self) -> u64 {
        self.0 & Self::RA_MASK
    }
    /// Page-size code.
    pub const fn size_code(self) -> u64 {
        self.0 & Self::SZ_MASK
    }
    /// Permission bits in place.
    pub const fn perms(self) -> u64 {
        self.0 & Self::PERM_MASK
    }
    /// Whether all bits of `perm` are set.
    pub const fn allows(self, perm: u64) -> bool {
        self.0 & perm == perm
    }
}

/// Bits of the page-size code in a cookie (LNX: 63:60; OSH 62:60) (hv-api.md §6.4 ⚠).
pub const COOKIE_SIZE_SHIFT: u32 = 60;

/// A decoded LDC cookie: `(code << 60) | (index << (13 + 3·code)) | offset`
/// (hv-api.md §6.4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Cookie {
    /// Page-size code (0–7).
    pub size_code: u64,
    /// Map-table index.
    pub index: u64,
    /// Byte offset inside the page.
    pub offset: u64,
}

impl Cookie {
    /// Page shift for this cookie: 13 + 3 × code (hv-api.md §6.4).
    pub const fn page_shift(&self) -> u32 {
        crate::mmu::page_shift(self.size_code & 7)
    }

    /// Encodes the cookie; fields are masked to their widths (hv-api.md §6.4).
    pub const fn encode(&self) -> u64 {
        let m = self.page_shift();
        let index_mask = (1u64 << (COOKIE_SIZE_SHIFT - m)) - 1;
        ((self.size_code & 7) << COOKIE_SIZE_SHIFT)
            | ((self.index & index_mask) << m)
            | (self.offset & ((1u64 << m) - 1))
    }

    /// Decodes a cookie; `None` if the size code (bits 63:60) is above 7
    /// (hv-api.md §6.4).
    pub const fn decode(cookie: u64) -> Option<Cookie> {
        let code = cookie >> COOKIE_SIZE_SHIFT;
        if code > 7 {
            return None;
        }
        let m = crate::mmu::page_shift(code);
        Some(Cookie {
            size_code: code,
            index: (cookie >> m) & ((1u64 << (COOKIE_SIZE_SHIFT - m)) - 1),
            offset: cookie & ((1u64 << m) - 1),
        })
    }
}

/// `cookie = (code << 60) | (index << (13 + 3·code)) | offset` (hv-api.md §6.4).
pub const fn make_cookie(size: PageSize, index: u64, offset: u64) -> u64 {
    Cookie { size_code: size.code(), index, offset }.encode()
}

static_assertions::const_assert_eq!(PACKET_SIZE, 64);
static_assertions::const_assert_eq!(pkt_type::CTRL, 0x01);
static_assertions::const_assert_eq!(pkt_type::DATA, 0x02);
static_assertions::const_assert_eq!(pkt_type::ERR, 0x10);
static_assertions::const_assert_eq!(stype::INFO, 0x01);
static_assertions::const_assert_eq!(stype::ACK, 0x02);
static_assertions::const_assert_eq!(stype::NACK, 0x04);
static_assertions::const_assert_eq!(ctrl::VERS, 0x01);
static_assertions::const_assert_eq!(ctrl::RTS, 0x02);
static_assertions::const_assert_eq!(ctrl::RTR, 0x03);
static_assertions::const_assert_eq!(ctrl::RDX, 0x04);
static_assertions::const_assert_eq!(env::START, 0x40);
static_assertions::const_assert_eq!(env::STOP, 0x80);
static_assertions::const_assert_eq!(mode::RAW, 0);
static_assertions::const_assert_eq!(mode::UNRELIABLE, 1);
static_assertions::const_assert_eq!(mode::STREAM, 3);
static_assertions::const_assert_eq!(state::DOWN, 0);
static_assertions::const_assert_eq!(state::UP, 1);
static_assertions::const_assert_eq!(state::RESET, 2);
static_assertions::const_assert_eq!(Mte::R, 1 << 4);
static_assertions::const_assert_eq!(Mte::CPW, 1 << 10);
static_assertions::const_assert_eq!(Mte::R >> MTE_PERM_SHIFT, 1);
static_assertions::const_assert_eq!(Mte::CPW >> MTE_PERM_SHIFT, 0x40);
static_assertions::const_assert_eq!(MAPIN_BASE_RA, 0x10 << 34);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn handshake_round_trip() {
        let v = Packet::vers(stype::INFO, 1, 0);
        assert_eq!(&v.0[..12], &[1, 1, 1, 0, 0, 0, 0, 0, 0, 1, 0, 0]);
        assert_eq!(v.handshake(), Some(Handshake::Vers { stype: stype::INFO, major: 1, minor: 0 }));
        let r = Packet::rts(mode::UNRELIABLE, 0x1234_5678);
        assert_eq!(&r.0[..8], &[1, 1, 2, 1, 0x12, 0x34, 0x56, 0x78]);
        assert_eq!(r.handshake(), Some(Handshake::Rts { stype: 1, mode: 1, seqid: 0x1234_5678 }));
        let t = Packet::rtr(mode::STREAM, 7);
        assert_eq!(t.handshake(), Some(Handshake::Rtr { stype: 1, mode: 3, seqid: 7 }));
        let x = Packet::rdx(8, 7);
        assert_eq!(&x.0[12..16], &[0, 0, 0, 7]);
        assert_eq!(x.handshake(), Some(Handshake::Rdx { stype: 1, seqid: 8, ackid: 7 }));
        let mut d = Packet::new(pkt_type::DATA, stype::INFO, 0, env::START | env::STOP | 5, 9);
        assert_eq!(d.handshake(), None);
        assert_eq!(d.data_len(), 5);
        d.0[8] = 0xaa;
        assert_eq!(d.unreliable_payload().len(), 56);
        assert_eq!(d.unreliable_payload()[0], 0xaa);
        assert_eq!(d.reliable_payload().len(), 48);
        assert_eq!(Packet::new(pkt_type::CTRL, 1, 9, 0, 0).handshake(), None);
    }

    #[test]
    fn mte_fields() {
        let m = Mte::new(0x8123_4000 | 0x1fff, PageSize::Size8K, Mte::R | Mte::CPR | Mte::CPW);
        assert_eq!(m.0, 0x8123_4000 | 0x610);
        assert_eq!(m.ra(), 0x8123_4000);
        assert_eq!(m.size_code(), 0);
        assert!(m.allows(Mte::CPR) && !m.allows(Mte::W));
        assert_eq!(m.perms(), 0x610);
    }

    #[test]
    fn cookies() {
        assert_eq!(make_cookie(PageSize::Size8K, 0, 0), 0);
        assert_eq!(make_cookie(PageSize::Size8K, 3, 0x10), (3 << 13) | 0x10);
        assert_eq!(make_cookie(PageSize::Size64K, 5, 0xfff0), (1 << 60) | (5 << 16) | 0xfff0);
        assert_eq!(make_cookie(PageSize::Size4M, 1, 0), (3 << 60) | (1 << 22));
        for code in 0..8u64 {
            for (index, offset) in [(0u64, 0u64), (1, 1), (12345, 0x1ff8), (0x3ff, 7)] {
                let c = Cookie { size_code: code, index, offset };
                assert_eq!(Cookie::decode(c.encode()), Some(c));
            }
        }
        assert_eq!(Cookie::decode(8 << 60), None);
        // Offset wider than the page is masked.
        assert_eq!(make_cookie(PageSize::Size8K, 0, 0x2001), 1);
    }
}
