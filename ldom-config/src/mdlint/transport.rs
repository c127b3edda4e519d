//! The transport rules (header, name block, elements), and the parse of a well-formed MD
//! into the model (`model.rs`).

use super::model::{tag, Md, ELEM, HDR, N, SLOT, V, VERSION};
use super::Report;
use std::collections::{BTreeMap, BTreeSet, HashMap};

fn be32(b: &[u8], at: usize) -> u32 {
    u32::from_be_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

fn be64(b: &[u8], at: usize) -> u64 {
    let mut x = [0u8; 8];
    x.copy_from_slice(&b[at..at + 8]);
    u64::from_be_bytes(x)
}

/// The four words of the header.
struct Header {
    version: u32,
    node_sz: usize,
    name_sz: usize,
    data_sz: usize,
}

impl Header {
    fn total(&self) -> u64 {
        HDR as u64 + self.node_sz as u64 + self.name_sz as u64 + self.data_sz as u64
    }
}

/// A string of the name block: its offset, its bytes (without the NUL) and whether a NUL
/// ends it.
struct NameEntry<'a> {
    at: usize,
    bytes: &'a [u8],
    terminated: bool,
}

/// The name block split into strings, up to the first empty one (the padding).
struct Names<'a> {
    block: &'a [u8],
    entries: Vec<NameEntry<'a>>,
    /// Offset of the first empty string, where the padding starts.
    padding: Option<usize>,
    /// The terminated UTF-8 names by offset: what an element's name offset may point at.
    starts: BTreeMap<usize, &'a str>,
}

impl<'a> Names<'a> {
    fn split(block: &'a [u8]) -> Self {
        let (mut entries, mut padding, mut at) = (Vec::new(), None, 0);
        while at < block.len() {
            match block[at..].iter().position(|&b| b == 0) {
                None => {
                    entries.push(NameEntry { at, bytes: &block[at..], terminated: false });
                    break;
                }
                Some(0) => {
                    padding = Some(at);
                    break;
                }
                Some(p) => {
                    entries.push(NameEntry { at, bytes: &block[at..at + p], terminated: true });
                    at += p + 1;
                }
            }
        }
        let starts = entries
            .iter()
            .filter(|e| e.terminated)
            .filter_map(|e| std::str::from_utf8(e.bytes).ok().map(|s| (e.at, s)))
            .collect();
        Names { block, entries, padding, starts }
    }
}

/// One element of the node block.
struct Elem {
    /// Its index.
    i: usize,
    raw: [u8; ELEM],
}

impl Elem {
    fn tag(&self) -> u8 {
        self.raw[0]
    }
    fn name_len(&self) -> usize {
        self.raw[1] as usize
    }
    fn name_off(&self) -> usize {
        be32(&self.raw, 4) as usize
    }
    fn value(&self) -> u64 {
        be64(&self.raw, 8)
    }
    /// NODE or a property: an element with a name.
    fn named(&self) -> bool {
        matches!(self.tag(), tag::NODE | tag::ARC | tag::VAL | tag::STR | tag::DATA)
    }
    fn is_prop(&self) -> bool {
        matches!(self.tag(), tag::ARC | tag::VAL | tag::STR | tag::DATA)
    }
    /// (length, offset) of a string or data property's payload.
    fn payload(&self) -> (usize, usize) {
        ((self.value() >> 32) as usize, (self.value() & 0xffff_ffff) as usize)
    }
}

/// The blocks of an MD whose header sizes fit the file.
struct Blocks<'a> {
    /// Elements in the node block.
    count: usize,
    data: &'a [u8],
    names: Names<'a>,
    /// The elements up to the first LIST_END (included); the checker reads no further.
    elems: Vec<Elem>,
    /// The element index of the first LIST_END.
    list_end: Option<usize>,
    /// For each element of `elems`, the NODE element of the node open before it.
    open: Vec<Option<usize>>,
    /// The node still open after the last element of `elems`.
    open_at_end: Option<usize>,
}

impl<'a> Blocks<'a> {
    fn new(bytes: &'a [u8], h: &Header) -> Self {
        let nodes = &bytes[HDR..HDR + h.node_sz];
        let names = &bytes[HDR + h.node_sz..HDR + h.node_sz + h.name_sz];
        let data = &bytes[HDR + h.node_sz + h.name_sz..HDR + h.node_sz + h.name_sz + h.data_sz];
        let count = h.node_sz / ELEM;
        let mut elems = Vec::new();
        let mut list_end = None;
        for i in 0..count {
            let mut raw = [0u8; ELEM];
            raw.copy_from_slice(&nodes[i * ELEM..(i + 1) * ELEM]);
            elems.push(Elem { i, raw });
            if raw[0] == tag::LIST_END {
                list_end = Some(i);
                break;
            }
        }
        let (mut open, mut cur) = (Vec::with_capacity(elems.len()), None);
        for e in &elems {
            open.push(cur);
            match e.tag() {
                tag::NODE => cur = Some(e.i),
                tag::NODE_END | tag::LIST_END => cur = None,
                _ => {}
            }
        }
        Blocks { count, data, names: Names::split(names), elems, list_end, open, open_at_end: cur }
    }

    /// The name of element `e`, or `?` if its name offset is not valid.
    fn name(&self, e: &Elem) -> &'a str {
        self.names.starts.get(&e.name_off()).copied().unwrap_or("?")
    }

    /// `NAME node at element I` for the NODE element `i`.
    fn label(&self, i: usize) -> String {
        format!("{} node at element {i}", self.name(&self.elems[i]))
    }

    /// The tag of element `i` of the node block.
    fn tag_at(&self, bytes: &[u8], i: usize) -> u8 {
        bytes[HDR + i * ELEM]
    }

    /// The NODE elements closed by a NODE_END, in order.
    fn closed_nodes(&self) -> Vec<usize> {
        self.elems.iter().zip(&self.open).filter(|(e, _)| e.tag() == tag::NODE_END).filter_map(|(_, o)| *o).collect()
    }
}

/// Applies the transport rules; returns the model when they found no error.
pub(super) fn check<'a>(r: &mut Report, bytes: &'a [u8]) -> Option<Md<'a>> {
    if !header_short(r, bytes) {
        return None;
    }
    let h = Header {
        version: be32(bytes, 0),
        node_sz: be32(bytes, 4) as usize,
        name_sz: be32(bytes, 8) as usize,
        data_sz: be32(bytes, 12) as usize,
    };
    header_version(r, &h);
    if !header_node_block(r, &h) || !header_sizes(r, &h, bytes.len()) {
        return None;
    }
    trailing_bytes(r, &h, bytes.len());
    md_too_large(r, bytes.len());
    name_block_size(r, &h);

    let b = Blocks::new(bytes, &h);
    name_block_unterminated(r, &b.names);
    name_block_gap(r, &b.names);
    name_block_utf8(r, &b.names);
    name_block_duplicate(r, &b.names);

    element_after_list_end(r, &b);
    reserved_bytes(r, &b);
    end_fields(r, &b);
    unknown_tag(r, &b);
    name_offset(r, &b);
    name_len(r, &b);
    arc_target(r, &b, bytes);
    data_range(r, &b);
    string_unterminated(r, &b);
    string_inner_nul(r, &b);
    string_utf8(r, &b);
    node_unterminated(r, &b);
    node_end_outside(r, &b);
    property_outside_node(r, &b);
    let list_end = no_list_end(r, &b)?;
    name_unused(r, &b);
    let closed = b.closed_nodes();
    node_chain(r, &b, &closed, list_end);
    r.nodes = closed.len();
    if !r.ok() {
        return None;
    }
    Some(model(&b, &closed))
}

/// The model of an MD that broke no transport rule.
fn model<'a>(b: &Blocks<'a>, closed: &[usize]) -> Md<'a> {
    let mut nodes = Vec::new();
    for &i in closed {
        let mut n = N { idx: i, name: b.name(&b.elems[i]), props: Vec::new() };
        for e in b.elems[i + 1..].iter().take_while(|e| e.tag() != tag::NODE_END) {
            let (len, off) = e.payload();
            let v = match e.tag() {
                tag::VAL => V::Val(e.value()),
                tag::ARC => V::Arc(e.value() as usize),
                tag::STR => V::Str(std::str::from_utf8(&b.data[off..off + len - 1]).unwrap_or("")),
                tag::DATA => V::Data(&b.data[off..off + len]),
                _ => continue,
            };
            n.props.push((b.name(e), v));
        }
        nodes.push(n);
    }
    Md::new(nodes)
}

// ---- header ------------------------------------------------------------------------

/// `header-short`: the file holds at least the 16-byte header (nothing else is checked
/// otherwise).
fn header_short(r: &mut Report, bytes: &[u8]) -> bool {
    if bytes.len() < HDR {
        r.add("header-short", None, format!("{} bytes: shorter than the 16-byte header", bytes.len()));
        return false;
    }
    true
}

/// `header-version`: the transport version is 0x00010000.
fn header_version(r: &mut Report, h: &Header) {
    if h.version != VERSION {
        r.add("header-version", None, format!("transport version {:#010x}, expected 0x00010000", h.version));
    }
}

/// `header-node-block`: the node block size is a non-zero multiple of 16 (nothing else is
/// checked otherwise).
fn header_node_block(r: &mut Report, h: &Header) -> bool {
    if h.node_sz == 0 || h.node_sz % ELEM != 0 {
        r.add("header-node-block", None, format!("node block size {:#x} is not a non-zero multiple of 16", h.node_sz));
        return false;
    }
    true
}

/// `header-sizes`: the header and its three blocks fit the file (nothing else is checked
/// otherwise).
fn header_sizes(r: &mut Report, h: &Header, len: usize) -> bool {
    if h.total() > len as u64 {
        r.add("header-sizes", None, format!("header block sizes add up to {} bytes, the file has {len}", h.total()));
        return false;
    }
    true
}

/// `trailing-bytes`: nothing follows the data block.
fn trailing_bytes(r: &mut Report, h: &Header, len: usize) {
    if h.total() < len as u64 {
        r.add(
            "trailing-bytes",
            None,
            format!("{} bytes after the data block (header says {} bytes in all)", len as u64 - h.total(), h.total()),
        );
    }
}

/// `md-too-large`: the MD fits the 8 KiB niagara MD slot.
fn md_too_large(r: &mut Report, len: usize) {
    if len > SLOT {
        r.add(
            "md-too-large",
            None,
            format!("{len} bytes: more than the {SLOT}-byte niagara MD slot (QEMU drops the rest)"),
        );
    }
}

/// `name-block-size`: the name block size is a multiple of 16, as mdgen pads it.
fn name_block_size(r: &mut Report, h: &Header) {
    if h.name_sz % 16 != 0 {
        r.add(
            "name-block-size",
            None,
            format!("name block size {:#x} is not a multiple of 16 (mdgen pads it)", h.name_sz),
        );
    }
}

// ---- name block --------------------------------------------------------------------

/// `name-block-unterminated`: every string of the name block ends with a NUL.
fn name_block_unterminated(r: &mut Report, names: &Names) {
    for e in names.entries.iter().filter(|e| !e.terminated) {
        r.add("name-block-unterminated", None, format!("name block: the string at offset {:#x} has no NUL", e.at));
    }
}

/// `name-block-gap`: after the first empty string (the padding) the name block holds only
/// zeros.
fn name_block_gap(r: &mut Report, names: &Names) {
    if let Some(at) = names.padding {
        if names.block[at..].iter().any(|&b| b != 0) {
            r.add("name-block-gap", None, format!("name block: empty name at offset {at:#x} followed by more names"));
        }
    }
}

/// `name-block-utf8`: every name is UTF-8.
fn name_block_utf8(r: &mut Report, names: &Names) {
    for e in names.entries.iter().filter(|e| e.terminated && std::str::from_utf8(e.bytes).is_err()) {
        r.add("name-block-utf8", None, format!("name block: the name at offset {:#x} is not UTF-8", e.at));
    }
}

/// `name-block-duplicate`: every name is stored once (Solaris compares names by offset).
fn name_block_duplicate(r: &mut Report, names: &Names) {
    let mut seen: HashMap<&[u8], usize> = HashMap::new();
    for e in names.entries.iter().filter(|e| e.terminated) {
        if let Some(prev) = seen.insert(e.bytes, e.at) {
            r.add(
                "name-block-duplicate",
                None,
                format!(
                    "name block: {:?} is stored twice (offsets {prev:#x} and {:#x}); names must be deduplicated (Solaris compares names by offset)",
                    String::from_utf8_lossy(e.bytes),
                    e.at
                ),
            );
        }
    }
}

// ---- elements ----------------------------------------------------------------------

/// `element-after-list-end`: the node block ends at the first LIST_END.
fn element_after_list_end(r: &mut Report, b: &Blocks) {
    if let Some(end) = b.list_end {
        if end + 1 < b.count {
            r.add(
                "element-after-list-end",
                Some(end + 1),
                "element after LIST_END (node block size must end at LIST_END)",
            );
        }
    }
}

/// `reserved-bytes`: bytes 2 and 3 of every element are zero.
fn reserved_bytes(r: &mut Report, b: &Blocks) {
    for e in b.elems.iter().filter(|e| e.raw[2] != 0 || e.raw[3] != 0) {
        r.add("reserved-bytes", Some(e.i), "reserved bytes 2..4 are not zero");
    }
}

/// `end-fields`: LIST_END and NODE_END elements are zero but for their tag.
fn end_fields(r: &mut Report, b: &Blocks) {
    for e in &b.elems {
        if matches!(e.tag(), tag::LIST_END | tag::NODE_END) && e.raw[1..].iter().any(|&x| x != 0) {
            let what = if e.tag() == tag::LIST_END { "LIST_END" } else { "NODE_END" };
            r.add("end-fields", Some(e.i), format!("{what} element has non-zero fields"));
        }
    }
}

/// `unknown-tag`: every tag is LIST_END, NOOP, NODE, NODE_END or a property tag.
fn unknown_tag(r: &mut Report, b: &Blocks) {
    for e in &b.elems {
        if !e.named() && !matches!(e.tag(), tag::LIST_END | tag::NODE_END | tag::NOOP) {
            r.add("unknown-tag", Some(e.i), format!("unknown tag {:#04x}", e.tag()));
        }
    }
}

/// `name-offset`: the name offset of a NODE or property is the start of a (UTF-8) name.
fn name_offset(r: &mut Report, b: &Blocks) {
    for e in b.elems.iter().filter(|e| e.named() && !b.names.starts.contains_key(&e.name_off())) {
        r.add(
            "name-offset",
            Some(e.i),
            format!("name offset {:#x} is not the start of a name in the name block", e.name_off()),
        );
    }
}

/// `name-len`: the name_len of a NODE or property is the length of its name.
fn name_len(r: &mut Report, b: &Blocks) {
    for e in b.elems.iter().filter(|e| e.named()) {
        if let Some(s) = b.names.starts.get(&e.name_off()) {
            if s.len() != e.name_len() {
                r.add(
                    "name-len",
                    Some(e.i),
                    format!("name_len {} but the name {s:?} has {} bytes", e.name_len(), s.len()),
                );
            }
        }
    }
}

/// `arc-target`: an arc leads to a NODE element inside the node block.
fn arc_target(r: &mut Report, b: &Blocks, bytes: &[u8]) {
    for e in b.elems.iter().filter(|e| e.tag() == tag::ARC) {
        let (nm, value) = (b.name(e), e.value());
        if value >= b.count as u64 {
            r.add(
                "arc-target",
                Some(e.i),
                format!("arc {nm:?} to element {value}, past the end of the node block ({} elements)", b.count),
            );
        } else if b.tag_at(bytes, value as usize) != tag::NODE {
            r.add(
                "arc-target",
                Some(e.i),
                format!(
                    "arc {nm:?} to element {value}, which is not a NODE (tag {:#04x})",
                    b.tag_at(bytes, value as usize)
                ),
            );
        }
    }
}

/// The string and data properties whose payload lies inside the data block.
fn payloads<'b, 'a>(b: &'b Blocks<'a>, want: u8) -> impl Iterator<Item = (&'b Elem, &'a [u8])> + 'b {
    b.elems.iter().filter(move |e| e.tag() == want).filter_map(|e| {
        let (len, off) = e.payload();
        (off + len <= b.data.len()).then(|| (e, &b.data[off..off + len]))
    })
}

/// `data-range`: the payload of a string or data property lies inside the data block.
fn data_range(r: &mut Report, b: &Blocks) {
    for e in b.elems.iter().filter(|e| matches!(e.tag(), tag::STR | tag::DATA)) {
        let (len, off) = e.payload();
        if off + len > b.data.len() {
            r.add(
                "data-range",
                Some(e.i),
                format!(
                    "property {:?}: data {off:#x}+{len:#x} is outside the {:#x}-byte data block",
                    b.name(e),
                    b.data.len()
                ),
            );
        }
    }
}

/// `string-unterminated`: a string property ends with a NUL.
fn string_unterminated(r: &mut Report, b: &Blocks) {
    for (e, s) in payloads(b, tag::STR) {
        if s.last() != Some(&0) {
            r.add("string-unterminated", Some(e.i), format!("string property {:?} is not NUL-terminated", b.name(e)));
        }
    }
}

/// `string-inner-nul`: a (terminated) string property has no NUL before its end; string
/// lists are data properties.
fn string_inner_nul(r: &mut Report, b: &Blocks) {
    for (e, s) in payloads(b, tag::STR) {
        if s.last() == Some(&0) && s[..s.len() - 1].contains(&0) {
            r.add(
                "string-inner-nul",
                Some(e.i),
                format!(
                    "string property {:?} contains a NUL before its end (use a data property for string lists)",
                    b.name(e)
                ),
            );
        }
    }
}

/// `string-utf8`: a (well-terminated) string property is UTF-8.
fn string_utf8(r: &mut Report, b: &Blocks) {
    for (e, s) in payloads(b, tag::STR) {
        if s.last() == Some(&0) && !s[..s.len() - 1].contains(&0) && std::str::from_utf8(&s[..s.len() - 1]).is_err() {
            r.add("string-utf8", Some(e.i), format!("string property {:?} is not UTF-8", b.name(e)));
        }
    }
}

/// `node-unterminated`: every NODE is closed by a NODE_END before the next NODE or the
/// LIST_END.
fn node_unterminated(r: &mut Report, b: &Blocks) {
    for (e, open) in b.elems.iter().zip(&b.open) {
        if let (Some(n), tag::NODE | tag::LIST_END) = (open, e.tag()) {
            let what = if e.tag() == tag::NODE { "NODE" } else { "LIST_END" };
            r.add("node-unterminated", Some(e.i), format!("{what} inside the {} (no NODE_END)", b.label(*n)));
        }
    }
    if let Some(n) = b.open_at_end {
        r.add("node-unterminated", None, format!("the {} has no NODE_END", b.label(n)));
    }
}

/// `node-end-outside`: a NODE_END closes a node.
fn node_end_outside(r: &mut Report, b: &Blocks) {
    for (e, open) in b.elems.iter().zip(&b.open) {
        if e.tag() == tag::NODE_END && open.is_none() {
            r.add("node-end-outside", Some(e.i), "NODE_END outside a node");
        }
    }
}

/// `property-outside-node`: every property is inside a node.
fn property_outside_node(r: &mut Report, b: &Blocks) {
    for (e, open) in b.elems.iter().zip(&b.open) {
        if e.is_prop() && open.is_none() {
            r.add("property-outside-node", Some(e.i), format!("property {:?} outside a node", b.name(e)));
        }
    }
}

/// `no-list-end`: the node block has a LIST_END (the rules below and the model need it).
fn no_list_end(r: &mut Report, b: &Blocks) -> Option<usize> {
    if b.list_end.is_none() {
        r.add("no-list-end", None, "no LIST_END element");
    }
    b.list_end
}

/// `name-unused`: every name of the name block is used by a NODE or property.
fn name_unused(r: &mut Report, b: &Blocks) {
    let used: BTreeSet<usize> = b.elems.iter().filter(|e| e.named()).map(|e| e.name_off()).collect();
    for (&off, s) in &b.names.starts {
        if !used.contains(&off) {
            r.add("name-unused", None, format!("name {s:?} (offset {off:#x}) is not used by any element"));
        }
    }
}

/// `node-chain`: a NODE's value is the index of the next NODE, the last one's that of the
/// LIST_END.
fn node_chain(r: &mut Report, b: &Blocks, closed: &[usize], list_end: usize) {
    for (k, &i) in closed.iter().enumerate() {
        let next = b.elems[i].value();
        let want = closed.get(k + 1).copied().unwrap_or(list_end) as u64;
        if next != want {
            r.add("node-chain", Some(i), format!("the {}'s next-node index is {next}, expected {want}", b.label(i)));
        }
    }
}
