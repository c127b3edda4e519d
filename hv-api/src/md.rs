//! Machine description (MD) reader.
//!
//! A sun4v machine description is a directed graph of *nodes*, each a list of
//! named *properties* (64-bit values, strings, byte strings, or *arcs* to other
//! nodes), serialised big-endian into one buffer (hv-api.md §5.1–§5.2; OSH
//! `src/include/md/md_impl.h`, `src/support/mdgen/output_bin.c`,
//! `src/support/mdlint/mdlint.c`):
//!
//! ```text
//! offset 0                    header (16 bytes, HEADER_SIZE)
//! 16                          node block: node_blk_sz bytes of 16-byte elements
//! 16 + node_blk_sz            name block: NUL-terminated names
//! 16 + node_blk_sz + name_blk_sz   data block: string / byte-string payloads
//! ```
//!
//! [`MachineDescription::new`] validates the whole buffer once (every element,
//! every name and data slice, every arc target, the node "next" chain, the
//! NODE_END of every node and the LIST_END), so all later accessors are
//! infallible, allocation-free and never panic.
//!
//! ```
//! # fn demo(bytes: &[u8]) -> Result<(), hv_api::md::MdError> {
//! use hv_api::md::MachineDescription;
//! let md = MachineDescription::new(bytes)?;
//! if let Some(root) = md.root() {
//!     for cpu in root.arcs("cpus").flat_map(|cpus| cpus.arcs("cpu")) {
//!         let _pid = cpu.val("pid");
//!     }
//! }
//! # Ok(()) }
//! ```

use core::fmt;

/// Element tags (hv-api.md §5.2; OSH `src/include/md/md_impl.h` `MDET_*`).
pub mod tag {
    /// End of the element list (hv-api.md §5.2; OSH md_impl.h `MDET_LIST_END`).
    pub const LIST_END: u8 = 0x00;
    /// Start of a node; value = index of the next NODE (hv-api.md §5.2; OSH `MDET_NODE`).
    pub const NODE: u8 = b'N';
    /// End of a node's property list (hv-api.md §5.2; OSH `MDET_NODE_END`).
    pub const NODE_END: u8 = b'E';
    /// Ignored element (padding / deleted) (hv-api.md §5.2; OSH `MDET_NULL`/`DT_NULL`).
    pub const NOOP: u8 = b' ';
    /// Arc property; value = index of the target NODE (hv-api.md §5.2; OSH `MDET_PROP_ARC`).
    pub const PROP_ARC: u8 = b'a';
    /// 64-bit value property (hv-api.md §5.2; OSH `MDET_PROP_VAL`).
    pub const PROP_VAL: u8 = b'v';
    /// NUL-terminated string property in the data block (hv-api.md §5.2; OSH `MDET_PROP_STR`).
    pub const PROP_STR: u8 = b's';
    /// Raw byte-string property in the data block (hv-api.md §5.2; OSH `MDET_PROP_DAT`).
    pub const PROP_DATA: u8 = b'd';

    static_assertions::const_assert_eq!(LIST_END, 0x00);
    static_assertions::const_assert_eq!(NODE, 0x4e);
    static_assertions::const_assert_eq!(NODE_END, 0x45);
    static_assertions::const_assert_eq!(NOOP, 0x20);
    static_assertions::const_assert_eq!(PROP_ARC, 0x61);
    static_assertions::const_assert_eq!(PROP_VAL, 0x76);
    static_assertions::const_assert_eq!(PROP_STR, 0x73);
    static_assertions::const_assert_eq!(PROP_DATA, 0x64);
}

/// The only transport version defined: major 1, minor 0 (hv-api.md §5.1;
/// OSH md_impl.h `MD_TRANSPORT_VERSION`).
pub const TRANSPORT_VERSION: u32 = 0x0001_0000;
/// Size of the MD header in bytes (hv-api.md §5.1).
pub const HEADER_SIZE: usize = 16;
/// Size of one node-block element in bytes (hv-api.md §5.2).
pub const ELEMENT_SIZE: usize = 16;
/// Required alignment of a `mach_desc` buffer (hv-api.md §5.3; OSH
/// `src/include/hypervisor.h` `MACH_DESC_ALIGNMENT`).
pub const BUFFER_ALIGNMENT: usize = 16;

static_assertions::const_assert_eq!(TRANSPORT_VERSION, 0x0001_0000);
static_assertions::const_assert_eq!(HEADER_SIZE, 16);
static_assertions::const_assert_eq!(ELEMENT_SIZE, 16);
static_assertions::const_assert_eq!(BUFFER_ALIGNMENT, 0x10);

/// The 16-byte MD header (hv-api.md §5.1; OSH md_impl.h `md_header_t`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Header {
    /// Transport version, [`TRANSPORT_VERSION`] (offset 0x0).
    pub transport_version: u32,
    /// Size of the node block in bytes (offset 0x4).
    pub node_blk_sz: u32,
    /// Size of the name block in bytes (offset 0x8).
    pub name_blk_sz: u32,
    /// Size of the data block in bytes (offset 0xc).
    pub data_blk_sz: u32,
}

impl Header {
    /// Decodes the big-endian header (hv-api.md §5.1).
    pub const fn from_be_bytes(b: &[u8; HEADER_SIZE]) -> Header {
        Header {
            transport_version: u32::from_be_bytes([b[0], b[1], b[2], b[3]]),
            node_blk_sz: u32::from_be_bytes([b[4], b[5], b[6], b[7]]),
            name_blk_sz: u32::from_be_bytes([b[8], b[9], b[10], b[11]]),
            data_blk_sz: u32::from_be_bytes([b[12], b[13], b[14], b[15]]),
        }
    }

    /// Encodes the header big-endian (hv-api.md §5.1).
    pub const fn to_be_bytes(&self) -> [u8; HEADER_SIZE] {
        let a = self.transport_version.to_be_bytes();
        let b = self.node_blk_sz.to_be_bytes();
        let c = self.name_blk_sz.to_be_bytes();
        let d = self.data_blk_sz.to_be_bytes();
        [a[0], a[1], a[2], a[3], b[0], b[1], b[2], b[3], c[0], c[1], c[2], c[3], d[0], d[1], d[2], d[3]]
    }

    /// Total MD size the header announces: 16 + node + name + data
    /// (hv-api.md §5.1). Computed in `u64`, so it cannot overflow.
    pub const fn total_size(&self) -> u64 {
        HEADER_SIZE as u64 + self.node_blk_sz as u64 + self.name_blk_sz as u64 + self.data_blk_sz as u64
    }
}

/// Why a buffer was rejected by [`MachineDescription::new`] (hv-api.md §5.1–§5.2).
///
/// `element` fields are element indexes (counting 16-byte elements from the
/// start of the node block).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MdError {
    /// The buffer is shorter than the 16-byte header.
    TooShort {
        /// Buffer length.
        len: usize,
    },
    /// The header's transport version is not [`TRANSPORT_VERSION`].
    BadVersion(u32),
    /// The header's block sizes add up to more than the buffer holds.
    BlockSizes {
        /// 16 + node + name + data block sizes (saturated to `usize::MAX`).
        total: usize,
        /// Buffer length.
        len: usize,
    },
    /// The node block size is not a multiple of [`ELEMENT_SIZE`].
    NodeBlockNotMultiple,
    /// An element's name slice lies (partly) outside the name block.
    NameOutOfRange {
        /// Offending element.
        element: usize,
    },
    /// An element's name is not followed by a NUL at `name_len`, or contains a NUL.
    NameNotTerminated {
        /// Offending element.
        element: usize,
    },
    /// An element's name is not valid UTF-8.
    NameNotUtf8 {
        /// Offending element.
        element: usize,
    },
    /// A PROP_STR / PROP_DATA slice lies (partly) outside the data block.
    DataOutOfRange {
        /// Offending element.
        element: usize,
    },
    /// A PROP_STR payload contains no NUL terminator.
    StringNotTerminated {
        /// Offending element.
        element: usize,
    },
    /// A PROP_STR payload is not valid UTF-8.
    StringNotUtf8 {
        /// Offending element.
        element: usize,
    },
    /// A PROP_ARC points past the LIST_END element.
    ArcOutOfRange {
        /// Offending element.
        element: usize,
        /// The arc's target index.
        target: u64,
    },
    /// A PROP_ARC points at an element that is not a NODE.
    ArcNotToNode {
        /// Offending element.
        element: usize,
        /// The arc's target index.
        target: u64,
    },
    /// A NODE's "next" index points past the LIST_END element.
    NextNodeOutOfRange {
        /// Offending NODE element.
        element: usize,
    },
    /// A NODE's "next" index is not the index of the following NODE (or of
    /// LIST_END for the last node).
    NextNodeMismatch {
        /// Offending NODE element.
        element: usize,
        /// The "next" index stored in the element.
        next: u64,
        /// The index of the element that actually follows the node.
        expected: usize,
    },
    /// The node block contains no LIST_END element.
    MissingListEnd,
    /// A NODE is not closed by NODE_END before the next NODE or LIST_END.
    MissingNodeEnd {
        /// The unterminated NODE element.
        element: usize,
    },
    /// An element has a tag that is not defined.
    UnknownTag {
        /// Offending element.
        element: usize,
        /// Its tag byte.
        tag: u8,
    },
    /// A NODE_END appears outside a node.
    UnexpectedNodeEnd {
        /// Offending element.
        element: usize,
    },
    /// A property element appears outside a node.
    PropertyOutsideNode {
        /// Offending element.
        element: usize,
    },
}

impl fmt::Display for MdError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            MdError::TooShort { len } => write!(
                f,
                "MD too short: {len} bytes, the header alone needs {HEADER_SIZE}"
            ),
            MdError::BadVersion(v) => write!(
                f,
                "MD transport version {v:#010x} is not {TRANSPORT_VERSION:#010x}"
            ),
            MdError::BlockSizes { total, len } => write!(
                f,
                "MD header announces {total} bytes (16 + node + name + data blocks) but the buffer holds {len}"
            ),
            MdError::NodeBlockNotMultiple => write!(
                f,
                "MD node block size is not a multiple of {ELEMENT_SIZE} bytes"
            ),
            MdError::NameOutOfRange { element } => write!(
                f,
                "MD element {element}: name lies outside the name block"
            ),
            MdError::NameNotTerminated { element } => write!(
                f,
                "MD element {element}: name is not NUL-terminated at name_len (or contains a NUL)"
            ),
            MdError::NameNotUtf8 { element } => {
                write!(f, "MD element {element}: name is not valid UTF-8")
            }
            MdError::DataOutOfRange { element } => write!(
                f,
                "MD element {element}: data lies outside the data block"
            ),
            MdError::StringNotTerminated { element } => write!(
                f,
                "MD element {element}: string property has no NUL terminator"
            ),
            MdError::StringNotUtf8 { element } => {
                write!(f, "MD element {element}: string property is not valid UTF-8")
            }
            MdError::ArcOutOfRange { element, target } => write!(
                f,
                "MD element {element}: arc target {target} is beyond the node block's LIST_END"
            ),
            MdError::ArcNotToNode { element, target } => write!(
                f,
                "MD element {element}: arc target {target} is not a NODE element"
            ),
            MdError::NextNodeOutOfRange { element } => write!(
                f,
                "MD element {element}: node's next index is beyond the node block's LIST_END"
            ),
            MdError::NextNodeMismatch {
                element,
                next,
                expected,
            } => write!(
                f,
                "MD element {element}: node's next index is {next}, but the next node (or LIST_END) is element {expected}"
            ),
            MdError::MissingListEnd => write!(f, "MD node block has no LIST_END element"),
            MdError::MissingNodeEnd { element } => write!(
                f,
                "MD element {element}: node is not closed by NODE_END"
            ),
            MdError::UnknownTag { element, tag } => {
                write!(f, "MD element {element}: unknown tag {tag:#04x}")
            }
            MdError::UnexpectedNodeEnd { element } => {
                write!(f, "MD element {element}: NODE_END outside a node")
            }
            MdError::PropertyOutsideNode { element } => {
                write!(f, "MD element {element}: property outside a node")
            }
        }
    }
}

impl core::error::Error for MdError {}

/// One decoded 16-byte element (internal).
#[derive(Clone, Copy)]
struct Raw {
    tag: u8,
    name_len: u8,
    name_off: u32,
    value: u64,
}

impl Raw {
    const LIST_END: Raw = Raw { tag: tag::LIST_END, name_len: 0, name_off: 0, value: 0 };

    fn decode(b: &[u8]) -> Raw {
        match b {
            [t, nl, _, _, n0, n1, n2, n3, v0, v1, v2, v3, v4, v5, v6, v7, ..] => Raw {
                tag: *t,
                name_len: *nl,
                name_off: u32::from_be_bytes([*n0, *n1, *n2, *n3]),
                value: u64::from_be_bytes([*v0, *v1, *v2, *v3, *v4, *v5, *v6, *v7]),
            },
            _ => Raw::LIST_END,
        }
    }

    fn data_len(&self) -> u32 {
        (self.value >> 32) as u32
    }

    fn data_off(&self) -> u32 {
        self.value as u32
    }
}

/// A validated machine description borrowed from a byte buffer
/// (hv-api.md §5; OSH `src/include/md/md_impl.h`).
///
/// Cheap to copy (a few slices). Created by [`MachineDescription::new`].
#[derive(Clone, Copy)]
pub struct MachineDescription<'a> {
    header: Header,
    bytes: &'a [u8],
    elements: &'a [u8],
    names: &'a [u8],
    data: &'a [u8],
}

impl fmt::Debug for MachineDescription<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MachineDescription")
            .field("header", &self.header)
            .field("elements", &self.element_count())
            .finish()
    }
}

fn sub(bytes: &[u8], start: usize, len: usize) -> Option<&[u8]> {
    bytes.get(start..start.checked_add(len)?)
}

fn check_name(names: &[u8], e: &Raw, element: usize) -> Result<(), MdError> {
    let off = e.name_off as usize;
    let len = e.name_len as usize;
    let name = sub(names, off, len).ok_or(MdError::NameOutOfRange { element })?;
    match names.get(off + len) {
        Some(0) => {}
        Some(_) => return Err(MdError::NameNotTerminated { element }),
        None => return Err(MdError::NameOutOfRange { element }),
    }
    if name.contains(&0) {
        return Err(MdError::NameNotTerminated { element });
    }
    core::str::from_utf8(name).map_err(|_| MdError::NameNotUtf8 { element })?;
    Ok(())
}

/// The part of a PROP_STR payload before its first NUL, if any.
fn str_prefix(payload: &[u8]) -> Option<&[u8]> {
    let nul = payload.iter().position(|&b| b == 0)?;
    payload.get(..nul)
}

impl<'a> MachineDescription<'a> {
    /// Validates `bytes` as a machine description (hv-api.md §5.1–§5.2).
    ///
    /// The buffer may be longer than the MD (e.g. a whole ROM slot); bytes
    /// past [`size`](Self::size) are ignored. Checks, in order: header
    /// length and version, block sizes against the buffer, node block a
    /// multiple of 16, a LIST_END present (elements after the first LIST_END
    /// are ignored), then for every element before it: known tag; properties
    /// only inside nodes; every NODE closed by NODE_END; names inside the name
    /// block, NUL-terminated exactly at `name_len`, UTF-8; PROP_STR/PROP_DATA
    /// slices inside the data block, strings NUL-terminated and UTF-8; arcs
    /// pointing at NODE elements; each NODE's "next" index equal to the index
    /// of the following NODE (or of LIST_END for the last node).
    pub fn new(bytes: &'a [u8]) -> Result<Self, MdError> {
        let len = bytes.len();
        let hdr: &[u8; HEADER_SIZE] =
            bytes.get(..HEADER_SIZE).and_then(|h| h.try_into().ok()).ok_or(MdError::TooShort { len })?;
        let header = Header::from_be_bytes(hdr);
        if header.transport_version != TRANSPORT_VERSION {
            return Err(MdError::BadVersion(header.transport_version));
        }
        let total = header.total_size();
        if total > len as u64 {
            return Err(MdError::BlockSizes { total: usize::try_from(total).unwrap_or(usize::MAX), len });
        }
        let node_sz = header.node_blk_sz as usize;
        let name_sz = header.name_blk_sz as usize;
        let data_sz = header.data_blk_sz as usize;
        if node_sz % ELEMENT_SIZE != 0 {
            return Err(MdError::NodeBlockNotMultiple);
        }
        let too_short = MdError::BlockSizes { total: usize::try_from(total).unwrap_or(usize::MAX), len };
        let all_elements = sub(bytes, HEADER_SIZE, node_sz).ok_or(too_short)?;
        let names = sub(bytes, HEADER_SIZE + node_sz, name_sz).ok_or(too_short)?;
        let data = sub(bytes, HEADER_SIZE + node_sz + name_sz, data_sz).ok_or(too_short)?;
        let md_bytes = bytes.get(..HEADER_SIZE + node_sz + name_sz + data_sz).ok_or(too_short)?;

        // Pass 1: the first LIST_END bounds the element list.
        let list_end = all_elements
            .chunks_exact(ELEMENT_SIZE)
            .position(|e| e.first() == Some(&tag::LIST_END))
            .ok_or(MdError::MissingListEnd)?;
        let count = list_end + 1;
        let elements = all_elements.get(..count * ELEMENT_SIZE).ok_or(MdError::MissingListEnd)?;
        let raw = |i: usize| -> Raw {
            match sub(elements, i.wrapping_mul(ELEMENT_SIZE), ELEMENT_SIZE) {
                Some(b) if i < count => Raw::decode(b),
                _ => Raw::LIST_END,
            }
        };

        // Pass 2: structure and every element.
        let mut open: Option<usize> = None;
        let mut prev_node: Option<(usize, u64)> = None;
        let check_next = |prev: Option<(usize, u64)>, here: usize| -> Result<(), MdError> {
            match prev {
                Some((element, next)) if next != here as u64 => {
                    Err(MdError::NextNodeMismatch { element, next, expected: here })
                }
                _ => Ok(()),
            }
        };
        for i in 0..count {
            let e = raw(i);
            match e.tag {
                tag::LIST_END => {
                    if let Some(n) = open {
                        return Err(MdError::MissingNodeEnd { element: n });
                    }
                    check_next(prev_node, i)?;
                }
                tag::NODE => {
                    if let Some(n) = open {
                        return Err(MdError::MissingNodeEnd { element: n });
                    }
                    check_name(names, &e, i)?;
                    if e.value >= count as u64 {
                        return Err(MdError::NextNodeOutOfRange { element: i });
                    }
                    check_next(prev_node, i)?;
                    prev_node = Some((i, e.value));
                    open = Some(i);
                }
                tag::NODE_END => {
                    if open.is_none() {
                        return Err(MdError::UnexpectedNodeEnd { element: i });
                    }
                    open = None;
                }
                tag::NOOP => {}
                tag::PROP_ARC | tag::PROP_VAL | tag::PROP_STR | tag::PROP_DATA => {
                    if open.is_none() {
                        return Err(MdError::PropertyOutsideNode { element: i });
                    }
                    check_name(names, &e, i)?;
                    match e.tag {
                        tag::PROP_ARC => {
                            if e.value >= count as u64 {
                                return Err(MdError::ArcOutOfRange { element: i, target: e.value });
                            }
                            if raw(e.value as usize).tag != tag::NODE {
                                return Err(MdError::ArcNotToNode { element: i, target: e.value });
                            }
                        }
                        tag::PROP_STR | tag::PROP_DATA => {
                            let payload = sub(data, e.data_off() as usize, e.data_len() as usize)
                                .ok_or(MdError::DataOutOfRange { element: i })?;
                            if e.tag == tag::PROP_STR {
                                let s = str_prefix(payload).ok_or(MdError::StringNotTerminated { element: i })?;
                                core::str::from_utf8(s).map_err(|_| MdError::StringNotUtf8 { element: i })?;
                            }
                        }
                        _ => {}
                    }
                }
                t => return Err(MdError::UnknownTag { element: i, tag: t }),
            }
        }

        Ok(MachineDescription { header, bytes: md_bytes, elements, names, data })
    }

    /// Size of the MD in bytes: 16 + node + name + data blocks (hv-api.md §5.1).
    pub fn size(&self) -> usize {
        self.bytes.len()
    }

    /// The MD bytes (exactly [`size`](Self::size) bytes), e.g. to copy the MD
    /// into a guest's `mach_desc` buffer (hv-api.md §5.3).
    pub fn as_bytes(&self) -> &'a [u8] {
        self.bytes
    }

    /// The decoded header (hv-api.md §5.1).
    pub fn header(&self) -> Header {
        self.header
    }

    /// Number of elements up to and including the first LIST_END
    /// (hv-api.md §5.2). Element indexes (arc targets, node indexes) are
    /// below this.
    pub fn element_count(&self) -> usize {
        self.elements.len() / ELEMENT_SIZE
    }

    fn raw(&self, i: usize) -> Raw {
        match i.checked_mul(ELEMENT_SIZE).and_then(|o| sub(self.elements, o, ELEMENT_SIZE)) {
            Some(b) => Raw::decode(b),
            None => Raw::LIST_END,
        }
    }

    fn name_of(&self, e: &Raw) -> &'a str {
        sub(self.names, e.name_off as usize, e.name_len as usize)
            .and_then(|n| core::str::from_utf8(n).ok())
            .unwrap_or("")
    }

    fn payload_of(&self, e: &Raw) -> &'a [u8] {
        sub(self.data, e.data_off() as usize, e.data_len() as usize).unwrap_or(&[])
    }

    /// All nodes in element order, following the validated "next" chain
    /// (hv-api.md §5.2).
    pub fn nodes(&self) -> Nodes<'a> {
        let mut first = 0;
        while self.raw(first).tag == tag::NOOP {
            first += 1;
        }
        Nodes { md: *self, next: first }
    }

    /// Number of nodes in the MD.
    pub fn node_count(&self) -> usize {
        self.nodes().count()
    }

    /// All nodes whose name (node type, e.g. `"cpu"`) equals `name`
    /// (hv-api.md §5.2).
    pub fn nodes_named<'n>(&self, name: &'n str) -> NodesNamed<'a, 'n> {
        NodesNamed { inner: self.nodes(), name }
    }

    /// The first node named `"root"` (hv-api.md §5.2: exactly one root node).
    pub fn root(&self) -> Option<Node<'a>> {
        self.nodes_named("root").next()
    }

    /// The node whose NODE element is at `index`, or `None` if `index` is not
    /// a NODE element (hv-api.md §5.2: a node handle is its element index).
    pub fn node_at(&self, index: usize) -> Option<Node<'a>> {
        if index < self.element_count() && self.raw(index).tag == tag::NODE {
            Some(Node { md: *self, index })
        } else {
            None
        }
    }
}

/// Iterator over all nodes of an MD, see [`MachineDescription::nodes`].
#[derive(Clone)]
pub struct Nodes<'a> {
    md: MachineDescription<'a>,
    next: usize,
}

impl<'a> Iterator for Nodes<'a> {
    type Item = Node<'a>;

    fn next(&mut self) -> Option<Node<'a>> {
        let here = self.next;
        let e = self.md.raw(here);
        if e.tag != tag::NODE {
            return None;
        }
        // Validated: next > here and next <= LIST_END; guard anyway.
        let next = usize::try_from(e.value).unwrap_or(usize::MAX);
        self.next = if next > here { next } else { usize::MAX };
        Some(Node { md: self.md, index: here })
    }
}

/// Iterator over the nodes with a given name, see
/// [`MachineDescription::nodes_named`].
#[derive(Clone)]
pub struct NodesNamed<'a, 'n> {
    inner: Nodes<'a>,
    name: &'n str,
}

impl<'a> Iterator for NodesNamed<'a, '_> {
    type Item = Node<'a>;

    fn next(&mut self) -> Option<Node<'a>> {
        let name = self.name;
        self.inner.find(|n| n.name() == name)
    }
}

/// One node of a validated MD (hv-api.md §5.2).
#[derive(Clone, Copy)]
pub struct Node<'a> {
    md: MachineDescription<'a>,
    index: usize,
}

impl fmt::Debug for Node<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Node").field("index", &self.index).field("name", &self.name()).finish()
    }
}

impl PartialEq for Node<'_> {
    /// Nodes are equal when they are the same element of the same MD buffer.
    fn eq(&self, other: &Self) -> bool {
        self.index == other.index && core::ptr::eq(self.md.bytes, other.md.bytes)
    }
}

impl Eq for Node<'_> {}

impl<'a> Node<'a> {
    /// Element index of this node's NODE element (its handle; arc targets
    /// use it) (hv-api.md §5.2).
    pub fn index(&self) -> usize {
        self.index
    }

    /// The node's name, i.e. its type (`"root"`, `"cpu"`, `"mblock"`, …)
    /// (hv-api.md §5.2).
    pub fn name(&self) -> &'a str {
        self.md.name_of(&self.md.raw(self.index))
    }

    /// The MD this node belongs to.
    pub fn md(&self) -> MachineDescription<'a> {
        self.md
    }

    /// All properties in element order (NOOPs skipped) (hv-api.md §5.2).
    pub fn properties(&self) -> Properties<'a> {
        Properties { md: self.md, pos: self.index + 1 }
    }

    /// The first property named `name`, of any type.
    pub fn property(&self, name: &str) -> Option<PropValue<'a>> {
        self.properties().find(|p| p.name == name).map(|p| p.value)
    }

    /// The first PROP_VAL named `name` (hv-api.md §5.2).
    pub fn val(&self, name: &str) -> Option<u64> {
        self.properties().find_map(|p| match p.value {
            PropValue::Val(v) if p.name == name => Some(v),
            _ => None,
        })
    }

    /// The first PROP_STR named `name`, without its NUL (hv-api.md §5.2).
    pub fn str(&self, name: &str) -> Option<&'a str> {
        self.properties().find_map(|p| match p.value {
            PropValue::Str(s) if p.name == name => Some(s),
            _ => None,
        })
    }

    /// The first PROP_DATA named `name`, raw bytes (hv-api.md §5.2).
    pub fn data(&self, name: &str) -> Option<&'a [u8]> {
        self.properties().find_map(|p| match p.value {
            PropValue::Data(d) if p.name == name => Some(d),
            _ => None,
        })
    }

    /// The strings of a string-list property (`compatible`, `isalist`, …):
    /// a PROP_DATA of concatenated NUL-terminated strings, or a single
    /// PROP_STR (hv-api.md §5.2). Pieces that are not UTF-8 are skipped.
    pub fn str_list(&self, name: &str) -> Option<StrList<'a>> {
        self.properties().find_map(|p| match p.value {
            PropValue::Data(d) if p.name == name => Some(StrList { rest: d }),
            PropValue::Str(s) if p.name == name => Some(StrList { rest: s.as_bytes() }),
            _ => None,
        })
    }

    /// The targets of all arcs named `name` (`"fwd"`, `"back"`, `"cpu"`,
    /// `"guests"`, …), in element order (hv-api.md §5.2; docs/hv-md-schema.md).
    pub fn arcs<'n>(&self, name: &'n str) -> Arcs<'a, 'n> {
        Arcs { props: self.properties(), name }
    }

    /// The target of the first arc named `name`.
    pub fn arc(&self, name: &str) -> Option<Node<'a>> {
        self.arcs(name).next()
    }
}

/// A property of a node (hv-api.md §5.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Property<'a> {
    /// Property name.
    pub name: &'a str,
    /// Property value.
    pub value: PropValue<'a>,
}

/// A property value (hv-api.md §5.2 tags `v`, `s`, `d`, `a`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PropValue<'a> {
    /// PROP_VAL: a 64-bit value.
    Val(u64),
    /// PROP_STR: a string, without its NUL terminator.
    Str(&'a str),
    /// PROP_DATA: raw bytes.
    Data(&'a [u8]),
    /// PROP_ARC: element index of the target node (see [`MachineDescription::node_at`]).
    Arc(usize),
}

/// Iterator over a node's properties, see [`Node::properties`].
#[derive(Clone)]
pub struct Properties<'a> {
    md: MachineDescription<'a>,
    pos: usize,
}

impl<'a> Iterator for Properties<'a> {
    type Item = Property<'a>;

    fn next(&mut self) -> Option<Property<'a>> {
        loop {
            let e = self.md.raw(self.pos);
            let value = match e.tag {
                tag::NOOP => {
                    self.pos += 1;
                    continue;
                }
                tag::PROP_VAL => PropValue::Val(e.value),
                tag::PROP_ARC => PropValue::Arc(usize::try_from(e.value).unwrap_or(usize::MAX)),
                tag::PROP_DATA => PropValue::Data(self.md.payload_of(&e)),
                tag::PROP_STR => PropValue::Str(
                    str_prefix(self.md.payload_of(&e)).and_then(|s| core::str::from_utf8(s).ok()).unwrap_or(""),
                ),
                _ => return None,
            };
            self.pos += 1;
            return Some(Property { name: self.md.name_of(&e), value });
        }
    }
}

/// Iterator over the targets of a node's arcs with one name, see [`Node::arcs`].
#[derive(Clone)]
pub struct Arcs<'a, 'n> {
    props: Properties<'a>,
    name: &'n str,
}

impl<'a> Iterator for Arcs<'a, '_> {
    type Item = Node<'a>;

    fn next(&mut self) -> Option<Node<'a>> {
        let md = self.props.md;
        let name = self.name;
        self.props.find_map(|p| match p.value {
            PropValue::Arc(t) if p.name == name => md.node_at(t),
            _ => None,
        })
    }
}

/// Iterator over the NUL-separated strings of a string-list property, see
/// [`Node::str_list`].
#[derive(Clone)]
pub struct StrList<'a> {
    rest: &'a [u8],
}

impl<'a> Iterator for StrList<'a> {
    type Item = &'a str;

    fn next(&mut self) -> Option<&'a str> {
        while !self.rest.is_empty() {
            let (piece, rest) = match self.rest.iter().position(|&b| b == 0) {
                Some(n) => (self.rest.get(..n).unwrap_or(&[]), self.rest.get(n + 1..).unwrap_or(&[])),
                None => (self.rest, &[][..]),
            };
            self.rest = rest;
            if let Ok(s) = core::str::from_utf8(piece) {
                return Some(s);
            }
        }
        None
    }
}

#[cfg(test)]
mod tests;
