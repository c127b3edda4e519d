//! The device tree the firmware serves through the client interface: a fixed-capacity
//! store of nodes and properties (no allocation), and [`build`], which derives the whole
//! tree from the domain's guest MD and the boot parameters.
//!
//! Phandles are `PHANDLE_BASE + node index`; anything else is not a phandle, so a client
//! passing garbage gets the 1275 error return instead of a stray node.

use hv_api::md::{MachineDescription, Node as MdNode, PropValue};

/// Most nodes a tree holds.
pub const MAX_NODES: usize = 96;
/// Most properties a tree holds (all nodes together).
pub const MAX_PROPS: usize = 768;
/// Bytes for names, path components and property values.
pub const DATA_BYTES: usize = 24 * 1024;
/// The first phandle (node 0, the root).
pub const PHANDLE_BASE: u32 = 0x00f0_0001;
/// Longest property name IEEE 1275 allows (31 characters plus the NUL).
pub const MAX_PROP_NAME: usize = 31;

const NONE: u16 = u16::MAX;

#[derive(Clone, Copy)]
struct NodeRec {
    /// Path component ("name@unit") in `data`.
    component: (u32, u16),
    parent: u16,
    first_child: u16,
    last_child: u16,
    next_sibling: u16,
    first_prop: u16,
    last_prop: u16,
}

#[derive(Clone, Copy)]
struct PropRec {
    name: (u32, u16),
    value: (u32, u32),
    next: u16,
}

/// Why the tree could not take a node or property.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TreeError {
    /// [`MAX_NODES`], [`MAX_PROPS`] or [`DATA_BYTES`] reached.
    Full,
    /// A property name longer than [`MAX_PROP_NAME`] or empty.
    BadName,
    /// Not a phandle of this tree.
    BadPhandle,
}

/// A device tree.
pub struct Tree {
    nodes: [NodeRec; MAX_NODES],
    n_nodes: usize,
    props: [PropRec; MAX_PROPS],
    n_props: usize,
    data: [u8; DATA_BYTES],
    n_data: usize,
}

const EMPTY_NODE: NodeRec = NodeRec {
    component: (0, 0),
    parent: NONE,
    first_child: NONE,
    last_child: NONE,
    next_sibling: NONE,
    first_prop: NONE,
    last_prop: NONE,
};
const EMPTY_PROP: PropRec = PropRec { name: (0, 0), value: (0, 0), next: NONE };

impl Default for Tree {
    fn default() -> Self {
        Self::new()
    }
}

impl Tree {
    /// An empty tree (no root yet).
    pub const fn new() -> Self {
        Tree {
            nodes: [EMPTY_NODE; MAX_NODES],
            n_nodes: 0,
            props: [EMPTY_PROP; MAX_PROPS],
            n_props: 0,
            data: [0; DATA_BYTES],
            n_data: 0,
        }
    }

    /// Forgets every node.
    pub fn clear(&mut self) {
        self.n_nodes = 0;
        self.n_props = 0;
        self.n_data = 0;
    }

    fn store(&mut self, bytes: &[u8]) -> Result<u32, TreeError> {
        let start = self.n_data;
        let end = start.checked_add(bytes.len()).ok_or(TreeError::Full)?;
        if end > DATA_BYTES {
            return Err(TreeError::Full);
        }
        self.data[start..end].copy_from_slice(bytes);
        self.n_data = end;
        Ok(start as u32)
    }

    fn index(&self, ph: u32) -> Option<usize> {
        let i = ph.checked_sub(PHANDLE_BASE)? as usize;
        (i < self.n_nodes).then_some(i)
    }

    fn phandle_of(i: u16) -> u32 {
        if i == NONE {
            0
        } else {
            PHANDLE_BASE + i as u32
        }
    }

    /// Is `ph` a phandle of this tree?
    pub fn is_phandle(&self, ph: u32) -> bool {
        self.index(ph).is_some()
    }

    /// Number of nodes.
    pub fn node_count(&self) -> usize {
        self.n_nodes
    }

    /// The root's phandle (0 when the tree is empty).
    pub fn root(&self) -> u32 {
        if self.n_nodes == 0 {
            0
        } else {
            PHANDLE_BASE
        }
    }

    /// Adds a node named by its path component (`name` or `name@unit`) under `parent`
    /// (0: the root, which must be the first node). Adds its `name` property.
    pub fn add_node(&mut self, parent: u32, component: &str) -> Result<u32, TreeError> {
        if self.n_nodes >= MAX_NODES {
            return Err(TreeError::Full);
        }
        let parent_i = if parent == 0 {
            if self.n_nodes != 0 {
                return Err(TreeError::BadPhandle);
            }
            NONE
        } else {
            self.index(parent).ok_or(TreeError::BadPhandle)? as u16
        };
        let off = self.store(component.as_bytes())?;
        let i = self.n_nodes as u16;
        self.nodes[i as usize] = NodeRec { component: (off, component.len() as u16), parent: parent_i, ..EMPTY_NODE };
        self.n_nodes += 1;
        if parent_i != NONE {
            let p = &mut self.nodes[parent_i as usize];
            if p.last_child == NONE {
                p.first_child = i;
            } else {
                let last = p.last_child as usize;
                self.nodes[last].next_sibling = i;
            }
            self.nodes[parent_i as usize].last_child = i;
        }
        let ph = Self::phandle_of(i);
        let name = component.split('@').next().unwrap_or(component);
        let mut v = [0u8; 64];
        let n = name.len().min(63);
        v[..n].copy_from_slice(&name.as_bytes()[..n]);
        self.set_prop(ph, "name", &v[..n + 1])?;
        Ok(ph)
    }

    fn find_prop(&self, node: usize, name: &[u8]) -> Option<usize> {
        let mut p = self.nodes[node].first_prop;
        while p != NONE {
            let r = &self.props[p as usize];
            if self.bytes(r.name.0, r.name.1 as u32) == name {
                return Some(p as usize);
            }
            p = r.next;
        }
        None
    }

    fn bytes(&self, off: u32, len: u32) -> &[u8] {
        &self.data[off as usize..(off + len) as usize]
    }

    /// Sets (adds or replaces) property `name` of `ph` to `value`.
    pub fn set_prop(&mut self, ph: u32, name: &str, value: &[u8]) -> Result<(), TreeError> {
        let node = self.index(ph).ok_or(TreeError::BadPhandle)?;
        if name.is_empty() || name.len() > MAX_PROP_NAME {
            return Err(TreeError::BadName);
        }
        if let Some(p) = self.find_prop(node, name.as_bytes()) {
            let (off, len) = self.props[p].value;
            if value.len() <= len as usize {
                // Shrink in place.
                self.data[off as usize..off as usize + value.len()].copy_from_slice(value);
                self.props[p].value.1 = value.len() as u32;
            } else {
                let off = self.store(value)?;
                self.props[p].value = (off, value.len() as u32);
            }
            return Ok(());
        }
        if self.n_props >= MAX_PROPS {
            return Err(TreeError::Full);
        }
        let name_off = self.store(name.as_bytes())?;
        let value_off = self.store(value)?;
        let p = self.n_props as u16;
        self.props[p as usize] =
            PropRec { name: (name_off, name.len() as u16), value: (value_off, value.len() as u32), next: NONE };
        self.n_props += 1;
        let n = &mut self.nodes[node];
        if n.last_prop == NONE {
            n.first_prop = p;
        } else {
            let last = n.last_prop as usize;
            self.props[last].next = p;
        }
        self.nodes[node].last_prop = p;
        Ok(())
    }

    /// Sets a string property (stored with its NUL).
    pub fn set_str(&mut self, ph: u32, name: &str, value: &str) -> Result<(), TreeError> {
        let mut buf = [0u8; 256];
        let n = value.len().min(255);
        buf[..n].copy_from_slice(&value.as_bytes()[..n]);
        self.set_prop(ph, name, &buf[..n + 1])
    }

    /// Sets a string-list property (each string NUL-terminated).
    pub fn set_strs(&mut self, ph: u32, name: &str, values: &[&str]) -> Result<(), TreeError> {
        let mut buf = [0u8; 256];
        let mut n = 0;
        for v in values {
            if n + v.len() + 1 > buf.len() {
                break;
            }
            buf[n..n + v.len()].copy_from_slice(v.as_bytes());
            n += v.len() + 1;
        }
        self.set_prop(ph, name, &buf[..n])
    }

    /// Sets a property of 32-bit cells.
    pub fn set_cells(&mut self, ph: u32, name: &str, cells: &[u32]) -> Result<(), TreeError> {
        let mut buf = [0u8; 256];
        let n = cells.len().min(64);
        for (i, c) in cells[..n].iter().enumerate() {
            buf[i * 4..i * 4 + 4].copy_from_slice(&c.to_be_bytes());
        }
        self.set_prop(ph, name, &buf[..n * 4])
    }

    /// Sets a property of 64-bit values (pairs of cells).
    pub fn set_u64s(&mut self, ph: u32, name: &str, vals: &[u64]) -> Result<(), TreeError> {
        let mut buf = [0u8; 512];
        let n = vals.len().min(64);
        for (i, v) in vals[..n].iter().enumerate() {
            buf[i * 8..i * 8 + 8].copy_from_slice(&v.to_be_bytes());
        }
        self.set_prop(ph, name, &buf[..n * 8])
    }

    /// The value of property `name` of `ph`.
    pub fn prop(&self, ph: u32, name: &[u8]) -> Option<&[u8]> {
        let node = self.index(ph)?;
        let p = self.find_prop(node, name)?;
        let (off, len) = self.props[p].value;
        Some(self.bytes(off, len))
    }

    /// The name of the property after `prev` (the first one for an empty `prev`).
    /// `Ok(None)`: `prev` was the last; `Err`: no such node or no property `prev`.
    pub fn next_prop(&self, ph: u32, prev: &[u8]) -> Result<Option<&[u8]>, TreeError> {
        let node = self.index(ph).ok_or(TreeError::BadPhandle)?;
        let next = if prev.is_empty() {
            self.nodes[node].first_prop
        } else {
            let p = self.find_prop(node, prev).ok_or(TreeError::BadName)?;
            self.props[p].next
        };
        Ok((next != NONE).then(|| {
            let r = &self.props[next as usize];
            self.bytes(r.name.0, r.name.1 as u32)
        }))
    }

    /// `peer`: the next sibling (0 when none); `peer(0)` is the root.
    pub fn peer(&self, ph: u32) -> Result<u32, TreeError> {
        if ph == 0 {
            return Ok(self.root());
        }
        let i = self.index(ph).ok_or(TreeError::BadPhandle)?;
        Ok(Self::phandle_of(self.nodes[i].next_sibling))
    }

    /// `child`: the first child (0 when none).
    pub fn child(&self, ph: u32) -> Result<u32, TreeError> {
        let i = self.index(ph).ok_or(TreeError::BadPhandle)?;
        Ok(Self::phandle_of(self.nodes[i].first_child))
    }

    /// `parent`: the parent (0 for the root).
    pub fn parent(&self, ph: u32) -> Result<u32, TreeError> {
        let i = self.index(ph).ok_or(TreeError::BadPhandle)?;
        Ok(Self::phandle_of(self.nodes[i].parent))
    }

    fn component(&self, i: usize) -> &[u8] {
        let (off, len) = self.nodes[i].component;
        self.bytes(off, len as u32)
    }

    /// Writes the full path of `ph` into `buf` (truncated to fit); returns the full
    /// length (without a NUL).
    pub fn path(&self, ph: u32, buf: &mut [u8]) -> Result<usize, TreeError> {
        let mut i = self.index(ph).ok_or(TreeError::BadPhandle)?;
        // Collect the chain from the node up (the tree is shallow).
        let mut chain = [0u16; 16];
        let mut depth = 0;
        while self.nodes[i].parent != NONE && depth < chain.len() {
            chain[depth] = i as u16;
            depth += 1;
            i = self.nodes[i].parent as usize;
        }
        let mut len = 0;
        let mut put = |b: &[u8]| {
            for &c in b {
                if len < buf.len() {
                    buf[len] = c;
                }
                len += 1;
            }
        };
        if depth == 0 {
            put(b"/");
        }
        for k in (0..depth).rev() {
            put(b"/");
            put(self.component(chain[k] as usize));
        }
        Ok(len)
    }

    /// `finddevice`: resolves an absolute path or an alias (a first component found in
    /// `/aliases`). A component without `@unit` matches the first child of that name
    /// (so `/cpu` finds `/cpu@0`, as OpenBoot does); a `:args` tail is ignored.
    pub fn find(&self, path: &[u8]) -> Option<u32> {
        let path = match path.iter().position(|&c| c == b':') {
            Some(p) => &path[..p],
            None => path,
        };
        if path.first() != Some(&b'/') {
            // An alias: its value is a path; a rest after the alias name follows it.
            let (alias, rest) = match path.iter().position(|&c| c == b'/') {
                Some(p) => (&path[..p], &path[p..]),
                None => (path, &[][..]),
            };
            let aliases = self.find_child(self.root(), b"aliases")?;
            let target = self.prop(aliases, alias)?;
            let target = target.split(|&c| c == 0).next()?;
            if target.first() != Some(&b'/') {
                return None;
            }
            let node = self.find(target)?;
            return if rest.is_empty() { Some(node) } else { self.walk(node, rest) };
        }
        self.walk(self.root(), path)
    }

    fn walk(&self, mut node: u32, path: &[u8]) -> Option<u32> {
        if node == 0 {
            return None;
        }
        for comp in path.split(|&c| c == b'/').filter(|c| !c.is_empty()) {
            node = self.find_child(node, comp)?;
        }
        Some(node)
    }

    fn find_child(&self, node: u32, comp: &[u8]) -> Option<u32> {
        let has_unit = comp.contains(&b'@');
        let mut c = self.child(node).ok()?;
        while c != 0 {
            let i = self.index(c)?;
            let mine = self.component(i);
            let matches = if has_unit { mine == comp } else { mine.split(|&b| b == b'@').next() == Some(comp) };
            if matches {
                return Some(c);
            }
            c = self.peer(c).ok()?;
        }
        None
    }
}

// ---------------------------------------------------------------------------------------
// Building the tree from the guest MD

/// What the firmware knows that the MD does not.
#[derive(Clone, Copy, Debug)]
pub struct BuildParams<'a> {
    /// Kernel command line (`/chosen bootargs`).
    pub bootargs: &'a str,
    /// Real memory the firmware keeps for itself (excluded from `/memory available`).
    pub reserved: &'a [(u64, u64)],
    /// `/virtual-memory translations`: (virtual address, size, TTE data) triples.
    pub translations: &'a [(u64, u64, u64)],
    /// Ihandles of the console, MMU and memory instances (`/chosen`).
    pub ihandles: Ihandles,
}

/// The instances the firmware has open for the client (`/chosen` properties).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Ihandles {
    /// Console (`stdin` and `stdout`).
    pub console: u32,
    /// `/virtual-memory` (`mmu`).
    pub mmu: u32,
    /// `/memory` (`memory`).
    pub memory: u32,
}

/// The packages [`build`] found for the instances.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Packages {
    /// The console node.
    pub console: u32,
    /// `/virtual-memory`.
    pub mmu: u32,
    /// `/memory`.
    pub memory: u32,
    /// `/chosen`.
    pub chosen: u32,
}

/// Why [`build`] failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BuildError {
    /// The MD has no root node.
    NoRoot,
    /// The MD has no memory (`memory`/`mblock`, or a `mblock` anywhere).
    NoMemory,
    /// The MD has no console virtual device.
    NoConsole,
    /// The tree is full.
    Tree(TreeError),
}

impl From<TreeError> for BuildError {
    fn from(e: TreeError) -> Self {
        BuildError::Tree(e)
    }
}

/// Start of Linux's OBP window (`in_obp_range()`: 0xf0000000–0xffffffff), which stays the
/// firmware's: clients claim virtual space outside it.
pub const VA_OBP_WINDOW: u64 = 0xf000_0000;
/// Version string of `/openprom` (Linux requires the `OBP ` prefix).
pub const OPENPROM_VERSION: &str = "OBP 4.99.0 sun4v-hv guest firmware";
/// `/virtual-devices` unit (its `cfg-handle` on Sun's machines and ours).
const VDEV_HANDLE: u64 = 0x100;

struct Fmt<const N: usize> {
    buf: [u8; N],
    len: usize,
}

impl<const N: usize> Fmt<N> {
    fn new() -> Self {
        Fmt { buf: [0; N], len: 0 }
    }
    fn as_str(&self) -> &str {
        core::str::from_utf8(&self.buf[..self.len]).unwrap_or("")
    }
}

impl<const N: usize> core::fmt::Write for Fmt<N> {
    fn write_str(&mut self, s: &str) -> core::fmt::Result {
        let b = s.as_bytes();
        if self.len + b.len() > N {
            return Err(core::fmt::Error);
        }
        self.buf[self.len..self.len + b.len()].copy_from_slice(b);
        self.len += b.len();
        Ok(())
    }
}

macro_rules! fmt {
    ($($a:tt)*) => {{
        let mut f = Fmt::<96>::new();
        let _ = core::fmt::Write::write_fmt(&mut f, format_args!($($a)*));
        f
    }};
}

/// Memory blocks of the MD: the `mblock` nodes (base, size), in MD order.
pub fn mblocks<'a>(md: &MachineDescription<'a>) -> impl Iterator<Item = (u64, u64)> + 'a {
    md.nodes_named("mblock").filter_map(|n| Some((n.val("base")?, n.val("size")?))).filter(|&(_, s)| s != 0)
}

/// Subtracts the reserved ranges from `(base, size)` and calls `out` for each piece.
fn subtract(base: u64, size: u64, reserved: &[(u64, u64)], out: &mut dyn FnMut(u64, u64)) {
    let mut pieces = [(base, base.saturating_add(size)); 16];
    let mut n = 1;
    for &(rb, rs) in reserved {
        let re = rb.saturating_add(rs);
        let mut next = [(0u64, 0u64); 16];
        let mut m = 0;
        for &(b, e) in &pieces[..n] {
            if re <= b || rb >= e {
                if m < 16 {
                    next[m] = (b, e);
                    m += 1;
                }
                continue;
            }
            if b < rb && m < 16 {
                next[m] = (b, rb);
                m += 1;
            }
            if re < e && m < 16 {
                next[m] = (re, e);
                m += 1;
            }
        }
        pieces = next;
        n = m;
    }
    for &(b, e) in &pieces[..n] {
        if e > b {
            out(b, e - b);
        }
    }
}

/// Builds the whole tree from the guest MD `md` and `p`; returns the packages of the
/// instances named in `p.ihandles`.
pub fn build(tree: &mut Tree, md: &MachineDescription<'_>, p: &BuildParams<'_>) -> Result<Packages, BuildError> {
    tree.clear();
    let mdroot = md.root().ok_or(BuildError::NoRoot)?;
    let platform = md.nodes_named("platform").next();
    let pval = |name: &str| platform.and_then(|n| n.val(name)).or_else(|| mdroot.val(name));
    let pstr = |name: &str| platform.and_then(|n| n.str(name)).or_else(|| mdroot.str(name));
    let mut pk = Packages::default();

    // Root.
    let root = tree.add_node(0, "")?;
    tree.set_str(root, "name", pstr("name").unwrap_or("SUNW,Sun-Fire-T2000"))?;
    tree.set_str(root, "banner-name", pstr("banner-name").unwrap_or("sun4v"))?;
    tree.set_str(root, "compatible", "sun4v")?;
    tree.set_str(root, "device_type", "sun4v")?;
    tree.set_cells(root, "#address-cells", &[2])?;
    tree.set_cells(root, "#size-cells", &[2])?;
    let stick = pval("stick-frequency").unwrap_or(100_000_000);
    let clock = pval("clock-frequency").unwrap_or(stick);
    tree.set_cells(root, "stick-frequency", &[stick as u32])?;
    tree.set_cells(root, "clock-frequency", &[clock as u32])?;
    tree.set_cells(root, "breakpoint-trap", &[0x7f])?;
    tree.set_prop(root, "idprom", &idprom(pval("mac-address").unwrap_or(0), pval("hostid").unwrap_or(0)))?;

    // /chosen.
    let chosen = tree.add_node(root, "chosen")?;
    pk.chosen = chosen;
    tree.set_cells(chosen, "stdout", &[p.ihandles.console])?;
    tree.set_cells(chosen, "stdin", &[p.ihandles.console])?;
    tree.set_cells(chosen, "mmu", &[p.ihandles.mmu])?;
    tree.set_cells(chosen, "memory", &[p.ihandles.memory])?;
    tree.set_str(chosen, "bootargs", p.bootargs)?;
    tree.set_str(chosen, "bootpath", "")?;

    // /openprom.
    let openprom = tree.add_node(root, "openprom")?;
    tree.set_str(openprom, "version", OPENPROM_VERSION)?;
    tree.set_str(openprom, "model", "sun4v-hv,guest-firmware")?;
    tree.set_prop(openprom, "relative-addressing", &[])?;
    tree.set_cells(openprom, "aligned-allocator", &[])?;
    tree.add_node(openprom, "client-services")?;

    // /options and /aliases, from the MD's options and devalias nodes.
    let options = tree.add_node(root, "options")?;
    let aliases = tree.add_node(root, "aliases")?;
    for (mdname, node) in [("options", options), ("devalias", aliases)] {
        if let Some(n) = md.nodes_named(mdname).next() {
            for prop in n.properties() {
                if let PropValue::Str(s) = prop.value {
                    if prop.name != "name" {
                        tree.set_str(node, prop.name, s)?;
                    }
                }
            }
        }
    }
    tree.add_node(root, "packages")?;

    // /cpu@N, one per MD cpu node, at the root as OpenBoot has them on sun4v (head_64.S
    // looks up "/cpu").
    let mut cpus: [(u64, Option<MdNode<'_>>); 64] = [(u64::MAX, None); 64];
    let mut ncpus = 0;
    for c in md.nodes_named("cpu") {
        if ncpus < cpus.len() {
            cpus[ncpus] = (c.val("id").unwrap_or(ncpus as u64), Some(c));
            ncpus += 1;
        }
    }
    cpus[..ncpus].sort_unstable_by_key(|c| c.0);
    for &(id, node) in &cpus[..ncpus] {
        let Some(c) = node else { continue };
        let cpu = tree.add_node(root, fmt!("cpu@{id:x}").as_str())?;
        tree.set_str(cpu, "device_type", "cpu")?;
        let mut compat = [""; 4];
        let mut k = 0;
        if let Some(list) = c.str_list("compatible") {
            for s in list.take(4) {
                compat[k] = s;
                k += 1;
            }
        }
        if k == 0 {
            compat[0] = "SUNW,sun4v-cpu";
            compat[1] = "sun4v";
            k = 2;
        }
        tree.set_strs(cpu, "compatible", &compat[..k])?;
        tree.set_u64s(cpu, "reg", &[(0xc000_0000 | id) << 32, 0])?;
        tree.set_cells(cpu, "cpuid", &[id as u32])?;
        let f = c.val("clock-frequency").unwrap_or(clock);
        tree.set_cells(cpu, "clock-frequency", &[f as u32])?;
        for (name, prop) in [
            ("mmu-#context-bits", "mmu-#context-bits"),
            ("mmu-#va-bits", "mmu-#va-bits"),
            ("mmu-max-#tsbs", "mmu-max-#tsbs"),
        ] {
            if let Some(v) = c.val(prop) {
                tree.set_cells(cpu, name, &[v as u32])?;
            }
        }
    }

    // /memory: reg from the MD's mblocks, available without what the firmware keeps.
    let mut first = None;
    let mut reg = [0u64; 32];
    let mut nreg = 0;
    for (b, s) in mblocks(md) {
        first.get_or_insert(b);
        if nreg + 2 <= reg.len() {
            reg[nreg] = b;
            reg[nreg + 1] = s;
            nreg += 2;
        }
    }
    let first = first.ok_or(BuildError::NoMemory)?;
    let memory = tree.add_node(root, fmt!("memory@m{:x},{:x}", first >> 32, first & 0xffff_ffff).as_str())?;
    pk.memory = memory;
    tree.set_str(memory, "device_type", "memory")?;
    tree.set_u64s(memory, "reg", &reg[..nreg])?;
    let mut avail = [0u64; 64];
    let mut navail = 0;
    for k in (0..nreg).step_by(2) {
        subtract(reg[k], reg[k + 1], p.reserved, &mut |b, s| {
            if navail + 2 <= avail.len() {
                avail[navail] = b;
                avail[navail + 1] = s;
                navail += 2;
            }
        });
    }
    tree.set_u64s(memory, "available", &avail[..navail])?;

    // /virtual-memory: the firmware's own translations.
    let vm = tree.add_node(root, "virtual-memory")?;
    pk.mmu = vm;
    let mut tr = [0u64; 48];
    let mut ntr = 0;
    for &(v, s, t) in p.translations.iter().take(16) {
        tr[ntr..ntr + 3].copy_from_slice(&[v, s, t]);
        ntr += 3;
    }
    tree.set_u64s(vm, "translations", &tr[..ntr])?;
    // Virtual space the client may claim: below the OBP window (not page 0) and above
    // 4 GB up to the 48-bit VA hole, minus the firmware's translations.
    let mut vavail = [0u64; 16];
    let mut nv = 0;
    for (b, s) in [(0x2000u64, VA_OBP_WINDOW - 0x2000), (1 << 32, (1u64 << 47) - (1 << 32))] {
        subtract(b, s, &[], &mut |b, s| {
            if nv + 2 <= vavail.len() {
                vavail[nv] = b;
                vavail[nv + 1] = s;
                nv += 2;
            }
        });
    }
    tree.set_u64s(vm, "available", &vavail[..nv])?;
    tree.set_cells(vm, "page-size", &[0x2000])?;
    tree.set_prop(
        vm,
        "existing",
        &[
            0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x80, 0, 0, 0, 0, 0, 0, 0, 0x80, 0, 0, 0, 0, 0, 0xff, 0xff, 0x80, 0, 0, 0, 0,
            0,
        ],
    )?;

    // /virtual-devices@100 and its children, from the MD's virtual-devices node.
    let vdev = tree.add_node(root, fmt!("virtual-devices@{VDEV_HANDLE:x}").as_str())?;
    tree.set_str(vdev, "device_type", "virtual-devices")?;
    tree.set_strs(vdev, "compatible", &["SUNW,sun4v-virtual-devices", "SUNW,virtual-devices"])?;
    tree.set_cells(vdev, "reg", &[0xc000_0000 | VDEV_HANDLE as u32, 0, 0, 0])?;
    tree.set_cells(vdev, "#address-cells", &[1])?;
    tree.set_cells(vdev, "#size-cells", &[0])?;
    tree.set_cells(vdev, "#interrupt-cells", &[1])?;
    let mut have_console = false;
    if let Some(v) = md.nodes_named("virtual-devices").next() {
        // Children in cfg-handle order, as OpenBoot lists them.
        let mut kids: [(u64, Option<MdNode<'_>>); 16] = [(u64::MAX, None); 16];
        let mut nk = 0;
        // Sun's MDs link the children with `back` arcs only, ours both ways.
        let children = md
            .nodes_named("virtual-device")
            .filter(|d| d.arcs("back").any(|b| b == v) || v.arcs("fwd").any(|f| f == *d));
        for d in children {
            if nk < kids.len() {
                kids[nk] = (d.val("cfg-handle").unwrap_or(u64::MAX), Some(d));
                nk += 1;
            }
        }
        kids[..nk].sort_unstable_by_key(|k| k.0);
        for &(handle, d) in &kids[..nk] {
            let Some(d) = d else { continue };
            let Some(name) = d.str("name") else { continue };
            if handle == u64::MAX {
                continue;
            }
            let n = tree.add_node(vdev, fmt!("{name}@{handle:x}").as_str())?;
            tree.set_cells(n, "reg", &[handle as u32])?;
            match name {
                "console" => {
                    have_console = true;
                    pk.console = n;
                    tree.set_str(n, "device_type", "serial")?;
                    tree.set_prop(n, "ignore-cd", &[])?;
                }
                "disk" => tree.set_str(n, "device_type", "block")?,
                "nvram" => tree.set_str(n, "device_type", "nvram")?,
                _ => {}
            }
            let mut compat = [""; 4];
            let mut k = 0;
            if let Some(list) = d.str_list("compatible") {
                for s in list.take(4) {
                    compat[k] = s;
                    k += 1;
                }
            }
            if name == "rtc" && k == 0 {
                compat[0] = "SUNW,sun4v-tod";
                k = 1;
            }
            if k > 0 {
                tree.set_strs(n, "compatible", &compat[..k])?;
            }
            if let Some(intr) = d.val("intr").filter(|&i| i != 0) {
                tree.set_cells(n, "interrupts", &[intr as u32])?;
            }
        }
    }
    if !have_console {
        return Err(BuildError::NoConsole);
    }
    // channel-devices (logical domain channels), when the MD has them.
    if let Some(c) = md.nodes_named("channel-devices").next() {
        let handle = c.val("cfg-handle").unwrap_or(0x200);
        let n = tree.add_node(vdev, fmt!("channel-devices@{handle:x}").as_str())?;
        tree.set_str(n, "device_type", "channel-devices")?;
        tree.set_strs(n, "compatible", &["SUNW,sun4v-channel-devices"])?;
        tree.set_cells(n, "reg", &[handle as u32])?;
        tree.set_cells(n, "#address-cells", &[1])?;
        tree.set_cells(n, "#size-cells", &[0])?;
        // Its virtual network devices, as Sun's OpenBoot shows them (`network@0`, …). Linux
        // needs only channel-devices itself (vio_init); the devices and their ports it
        // reads from the MD.
        for d in c.arcs("fwd").filter(|d| d.name() == "virtual-device" && d.str("name") == Some("network")) {
            let Some(h) = d.val("cfg-handle") else { continue };
            let net = tree.add_node(n, fmt!("network@{h:x}").as_str())?;
            tree.set_str(net, "device_type", "network")?;
            tree.set_strs(net, "compatible", &["SUNW,sun4v-network"])?;
            tree.set_cells(net, "reg", &[h as u32])?;
            if let Some(mac) = d.val("local-mac-address") {
                tree.set_prop(net, "local-mac-address", &mac.to_be_bytes()[2..])?;
            }
        }
    }
    Ok(pk)
}

/// The 32-byte Sun IDPROM: format 1, machine type sun4v (0x90 as OpenBoot reports it on
/// T1), the MAC address, the host id as serial, and the checksum (XOR of bytes 0–14).
pub fn idprom(mac: u64, hostid: u64) -> [u8; 32] {
    let mut id = [0u8; 32];
    id[0] = 1;
    id[1] = (hostid >> 24) as u8;
    id[2..8].copy_from_slice(&mac.to_be_bytes()[2..8]);
    id[12..15].copy_from_slice(&hostid.to_be_bytes()[5..8]);
    id[15] = id[..15].iter().fold(0, |a, b| a ^ b);
    id
}
