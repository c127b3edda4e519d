//! Hypervisor call status codes.
//!
//! Every sun4v hypervisor call returns a status in `%o0`: [`EOK`] (0) on
//! success, otherwise one of the [`HvError`] codes.
//!
//! Source: hv-api.md §3; OSH `src/include/hypervisor.h` (codes 0–15),
//! LNX-HV `HV_E*` (16 `ECHANNEL`, 17 `EBUSY`, 23 `EUNAVAILABLE`).

use core::fmt;

/// Status code for success (hv-api.md §3; OSH `src/include/hypervisor.h` `EOK`).
pub const EOK: u64 = 0;

/// A non-zero sun4v hypervisor status code.
///
/// The discriminant is the value the hypervisor returns in `%o0`
/// (hv-api.md §3; OSH `src/include/hypervisor.h`; LNX-HV `HV_E*`).
#[repr(u64)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum HvError {
    /// `ENOCPU` (1): invalid CPU id (hv-api.md §3).
    NoCpu = 1,
    /// `ENORADDR` (2): invalid real address (hv-api.md §3).
    NoRAddr = 2,
    /// `ENOINTR` (3): invalid interrupt id (hv-api.md §3).
    NoIntr = 3,
    /// `EBADPGSZ` (4): invalid page-size encoding (hv-api.md §3).
    BadPgSz = 4,
    /// `EBADTSB` (5): invalid TSB description (hv-api.md §3).
    BadTsb = 5,
    /// `EINVAL` (6): invalid argument (hv-api.md §3).
    Inval = 6,
    /// `EBADTRAP` (7): invalid trap or function number, or a call not
    /// enabled by the negotiated API version (hv-api.md §3, §1.2).
    BadTrap = 7,
    /// `EBADALIGN` (8): bad address alignment (hv-api.md §3).
    BadAlign = 8,
    /// `EWOULDBLOCK` (9): cannot complete without blocking; retry (hv-api.md §3).
    WouldBlock = 9,
    /// `ENOACCESS` (10): no access to resource (hv-api.md §3).
    NoAccess = 10,
    /// `EIO` (11): I/O error (hv-api.md §3).
    Io = 11,
    /// `ECPUERROR` (12): CPU in error state (hv-api.md §3).
    CpuError = 12,
    /// `ENOTSUPPORTED` (13): function or request not supported (hv-api.md §3).
    NotSupported = 13,
    /// `ENOMAP` (14): no mapping found (hv-api.md §3).
    NoMap = 14,
    /// `ETOOMANY` (15): too many items / hard resource limit (hv-api.md §3).
    TooMany = 15,
    /// `ECHANNEL` (16): invalid LDC channel (hv-api.md §3, §6.5).
    Channel = 16,
    /// `EBUSY` (17): resource busy (hv-api.md §3; LNX-HV only, later spec).
    Busy = 17,
    /// `EUNAVAILABLE` (23): temporarily unavailable (hv-api.md §3; LNX-HV only, later spec).
    Unavailable = 23,
}

/// Result of a hypervisor call: the return value(s) or the failing status
/// (hv-api.md §1.2).
pub type HvResult<T> = Result<T, HvError>;

impl HvError {
    /// All defined error codes, in numeric order (hv-api.md §3).
    pub const ALL: [HvError; 18] = [
        HvError::NoCpu,
        HvError::NoRAddr,
        HvError::NoIntr,
        HvError::BadPgSz,
        HvError::BadTsb,
        HvError::Inval,
        HvError::BadTrap,
        HvError::BadAlign,
        HvError::WouldBlock,
        HvError::NoAccess,
        HvError::Io,
        HvError::CpuError,
        HvError::NotSupported,
        HvError::NoMap,
        HvError::TooMany,
        HvError::Channel,
        HvError::Busy,
        HvError::Unavailable,
    ];

    /// The numeric status code returned in `%o0` (hv-api.md §3).
    pub const fn code(self) -> u64 {
        self as u64
    }

    /// Converts a status code into an error; `None` for [`EOK`] and for
    /// undefined codes (hv-api.md §3).
    pub const fn from_code(code: u64) -> Option<HvError> {
        Some(match code {
            1 => HvError::NoCpu,
            2 => HvError::NoRAddr,
            3 => HvError::NoIntr,
            4 => HvError::BadPgSz,
            5 => HvError::BadTsb,
            6 => HvError::Inval,
            7 => HvError::BadTrap,
            8 => HvError::BadAlign,
            9 => HvError::WouldBlock,
            10 => HvError::NoAccess,
            11 => HvError::Io,
            12 => HvError::CpuError,
            13 => HvError::NotSupported,
            14 => HvError::NoMap,
            15 => HvError::TooMany,
            16 => HvError::Channel,
            17 => HvError::Busy,
            23 => HvError::Unavailable,
            _ => return None,
        })
    }

    /// The spec's symbolic name, e.g. `"ENORADDR"` (hv-api.md §3; OSH
    /// `src/include/hypervisor.h`).
    pub const fn name(self) -> &'static str {
        match self {
            HvError::NoCpu => "ENOCPU",
            HvError::NoRAddr => "ENORADDR",
            HvError::NoIntr => "ENOINTR",
            HvError::BadPgSz => "EBADPGSZ",
            HvError::BadTsb => "EBADTSB",
            HvError::Inval => "EINVAL",
            HvError::BadTrap => "EBADTRAP",
            HvError::BadAlign => "EBADALIGN",
            HvError::WouldBlock => "EWOULDBLOCK",
            HvError::NoAccess => "ENOACCESS",
            HvError::Io => "EIO",
            HvError::CpuError => "ECPUERROR",
            HvError::NotSupported => "ENOTSUPPORTED",
            HvError::NoMap => "ENOMAP",
            HvError::TooMany => "ETOOMANY",
            HvError::Channel => "ECHANNEL",
            HvError::Busy => "EBUSY",
            HvError::Unavailable => "EUNAVAILABLE",
        }
    }

    /// A short description of the error (hv-api.md §3 "Meaning" column).
    pub const fn description(self) -> &'static str {
        match self {
            HvError::NoCpu => "invalid CPU id",
            HvError::NoRAddr => "invalid real address",
            HvError::NoIntr => "invalid interrupt id",
            HvError::BadPgSz => "invalid page-size encoding",
            HvError::BadTsb => "invalid TSB description",
            HvError::Inval => "invalid argument",
            HvError::BadTrap => "invalid trap or function number",
            HvError::BadAlign => "bad address alignment",
            HvError::WouldBlock => "cannot complete without blocking",
            HvError::NoAccess => "no access to resource",
            HvError::Io => "I/O error",
            HvError::CpuError => "CPU in error state",
            HvError::NotSupported => "function or request not supported",
            HvError::NoMap => "no mapping found",
            HvError::TooMany => "too many items",
            HvError::Channel => "invalid LDC channel",
            HvError::Busy => "resource busy",
            HvError::Unavailable => "temporarily unavailable",
        }
    }

    /// Turns a raw status into a result: `Ok(())` for [`EOK`], `Err` for a
    /// defined code. An undefined non-zero code maps to [`HvError::Inval`]
    /// (hv-api.md §1.2: status is 0 or an error of §3).
    pub const fn check(status: u64) -> HvResult<()> {
        if status == EOK {
            Ok(())
        } else {
            match HvError::from_code(status) {
                Some(e) => Err(e),
                None => Err(HvError::Inval),
            }
        }
    }
}

impl From<HvError> for u64 {
    fn from(e: HvError) -> u64 {
        e.code()
    }
}

impl fmt::Display for HvError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({}): {}", self.name(), self.code(), self.description())
    }
}

impl core::error::Error for HvError {}

static_assertions::const_assert_eq!(EOK, 0);
static_assertions::const_assert_eq!(HvError::NoCpu as u64, 1);
static_assertions::const_assert_eq!(HvError::NoRAddr as u64, 2);
static_assertions::const_assert_eq!(HvError::NoIntr as u64, 3);
static_assertions::const_assert_eq!(HvError::BadPgSz as u64, 4);
static_assertions::const_assert_eq!(HvError::BadTsb as u64, 5);
static_assertions::const_assert_eq!(HvError::Inval as u64, 6);
static_assertions::const_assert_eq!(HvError::BadTrap as u64, 7);
static_assertions::const_assert_eq!(HvError::BadAlign as u64, 8);
static_assertions::const_assert_eq!(HvError::WouldBlock as u64, 9);
static_assertions::const_assert_eq!(HvError::NoAccess as u64, 10);
static_assertions::const_assert_eq!(HvError::Io as u64, 11);
static_assertions::const_assert_eq!(HvError::CpuError as u64, 12);
static_assertions::const_assert_eq!(HvError::NotSupported as u64, 13);
static_assertions::const_assert_eq!(HvError::NoMap as u64, 14);
static_assertions::const_assert_eq!(HvError::TooMany as u64, 15);
static_assertions::const_assert_eq!(HvError::Channel as u64, 16);
static_assertions::const_assert_eq!(HvError::Busy as u64, 17);
static_assertions::const_assert_eq!(HvError::Unavailable as u64, 23);

#[cfg(test)]
mod tests {
    extern crate std;
    use super::*;
    use std::string::ToString;

    #[test]
    fn round_trip_all_codes() {
        for e in HvError::ALL {
            assert_eq!(HvError::from_code(e.code()), Some(e));
            assert!(e.name().starts_with('E'));
        }
        assert_eq!(HvError::from_code(0), None);
        for c in 18..23 {
            assert_eq!(HvError::from_code(c), None);
        }
        assert_eq!(HvError::from_code(24), None);
        assert_eq!(HvError::from_code(u64::MAX), None);
    }

    #[test]
    fn names_match_spec() {
        let expected = [
            (1, "ENOCPU"),
            (2, "ENORADDR"),
            (3, "ENOINTR"),
            (4, "EBADPGSZ"),
            (5, "EBADTSB"),
            (6, "EINVAL"),
            (7, "EBADTRAP"),
            (8, "EBADALIGN"),
            (9, "EWOULDBLOCK"),
            (10, "ENOACCESS"),
            (11, "EIO"),
            (12, "ECPUERROR"),
            (13, "ENOTSUPPORTED"),
            (14, "ENOMAP"),
            (15, "ETOOMANY"),
            (16, "ECHANNEL"),
            (17, "EBUSY"),
            (23, "EUNAVAILABLE"),
        ];
        for (code, name) in expected {
            assert_eq!(HvError::from_code(code).unwrap().name(), name);
        }
    }

    #[test]
    fn check_and_display() {
        assert_eq!(HvError::check(0), Ok(()));
        assert_eq!(HvError::check(2), Err(HvError::NoRAddr));
        assert_eq!(HvError::check(99), Err(HvError::Inval));
        assert_eq!(HvError::NoRAddr.to_string(), "ENORADDR (2): invalid real address");
    }
}
