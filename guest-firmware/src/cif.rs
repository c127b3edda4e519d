//! The IEEE 1275 client interface: one call is an array of 64-bit cells in client memory,
//! `[service-name, nargs, nrets, arg1 … argN, ret1 … retM]`; the firmware reads the
//! arguments, does the service and writes the results back (IEEE 1275-1994 §6.3.1, as
//! Linux's `arch/sparc/prom/*_64.c` calls it).
//!
//! Every argument is checked: an unknown service, too few arguments or results, a bad
//! phandle or ihandle, or a client buffer the firmware cannot read or write gives the
//! 1275 error return (the call returns -1, or the service's own failure result: -1 for
//! `getprop` and friends), never a hang or a fault. [`Client`] is the client's memory and
//! [`Platform`] the hypervisor-backed services, so all of this is tested on the host.

use crate::tree::{Ihandles, Packages, Tree};

/// Most arguments / results a call may have.
pub const MAX_CELLS: u64 = 16;
/// Longest service name, path or property name read from the client.
pub const MAX_STRING: usize = 256;
/// Bytes of the buffer `nextprop` fills (IEEE 1275: a property name is at most 31
/// characters).
pub const NEXTPROP_BUF: usize = 32;
/// The failure cell value (-1).
pub const FAIL: u64 = u64::MAX;

/// The client's memory (its virtual addresses, as the client passes them).
pub trait Client {
    /// Reads `buf.len()` bytes at `va`; `false` if any of them is not readable.
    fn read(&mut self, va: u64, buf: &mut [u8]) -> bool;
    /// Writes `data` at `va`; `false` if any byte is not writable.
    fn write(&mut self, va: u64, data: &[u8]) -> bool;
}

/// The services that need the hypervisor.
pub trait Platform {
    /// Writes console bytes; returns how many were written.
    fn console_write(&mut self, bytes: &[u8]) -> usize;
    /// Reads up to `buf.len()` console bytes without waiting; returns how many.
    fn console_read(&mut self, buf: &mut [u8]) -> usize;
    /// Milliseconds since some fixed point.
    fn milliseconds(&mut self) -> u64;
    /// The real address and TTE mode bits `va` translates to, if mapped.
    fn translate(&mut self, va: u64) -> Option<(u64, u64)>;
    /// Maps `size` bytes at `va` onto real address `ra` (`mode` -1: the default).
    fn map(&mut self, va: u64, ra: u64, size: u64, mode: u64) -> bool;
    /// Removes the mappings of `size` bytes at `va`.
    fn unmap(&mut self, va: u64, size: u64) -> bool;
    /// `SUNW,set-trap-table`: the client's trap table and fault status area.
    fn set_trap_table(&mut self, tba: u64, mmfsa: u64) -> bool;
    /// Starts vCPU `cpuid` at client address `pc` with `%o0 = arg`; a hypervisor error
    /// number (0: started).
    fn start_cpu(&mut self, cpuid: u64, pc: u64, arg: u64) -> u64;
    /// Stops vCPU `cpuid`; a hypervisor error number.
    fn stop_cpu(&mut self, cpuid: u64) -> u64;
    /// Stops the calling vCPU (returns only on the host).
    fn stop_self(&mut self);
    /// Powers the domain off (returns only on the host).
    fn power_off(&mut self);
    /// Ends the client program: `exit` (returns only on the host).
    fn exit(&mut self);
    /// Restarts the domain with `args` (`boot`; returns only on the host).
    fn reboot(&mut self, args: &[u8]);
    /// Tells the hypervisor's soft state which state the guest is in.
    fn soft_state(&mut self, state: u64, desc: &[u8]) -> bool;
}

/// The instances (ihandles) the firmware hands out and the packages they belong to.
#[derive(Clone, Copy, Debug)]
pub struct Instances {
    /// The ihandles in `/chosen`.
    pub ihandles: Ihandles,
    /// Their packages.
    pub packages: Packages,
}

impl Instances {
    /// The package of `ihandle`, if it is one of ours.
    pub fn package(&self, ihandle: u32) -> Option<u32> {
        let i = &self.ihandles;
        let p = &self.packages;
        if ihandle == 0 {
            None
        } else if ihandle == i.console {
            Some(p.console)
        } else if ihandle == i.mmu {
            Some(p.mmu)
        } else if ihandle == i.memory {
            Some(p.memory)
        } else {
            None
        }
    }
}

/// The fixed ihandles of the firmware's instances.
pub const IHANDLES: Ihandles = Ihandles { console: 0x00fe_0001, mmu: 0x00fe_0002, memory: 0x00fe_0003 };

/// A call's cells: the arguments read from the client, the results to write back.
struct Call {
    args: [u64; MAX_CELLS as usize],
    nargs: usize,
    rets: [u64; MAX_CELLS as usize],
    nrets: usize,
}

/// What a service asks for after its results are written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum After {
    /// Return to the client.
    Return,
}

/// Handles one client-interface call whose argument array is at `array`; returns the
/// handler's return value (0: done, -1 as u64: unknown service or bad arguments).
pub fn handle(array: u64, tree: &mut Tree, inst: &Instances, client: &mut dyn Client, plat: &mut dyn Platform) -> u64 {
    let mut head = [0u8; 24];
    if array == 0 || !client.read(array, &mut head) {
        return FAIL;
    }
    let cell = |b: &[u8], i: usize| u64::from_be_bytes(b[i * 8..i * 8 + 8].try_into().unwrap_or([0; 8]));
    let (name_va, nargs, nrets) = (cell(&head, 0), cell(&head, 1), cell(&head, 2));
    if nargs > MAX_CELLS || nrets > MAX_CELLS {
        return FAIL;
    }
    let mut call = Call { args: [0; 16], nargs: nargs as usize, rets: [0; 16], nrets: nrets as usize };
    let mut buf = [0u8; 8 * MAX_CELLS as usize];
    if !client.read(array + 24, &mut buf[..call.nargs * 8]) {
        return FAIL;
    }
    for i in 0..call.nargs {
        call.args[i] = cell(&buf, i);
    }
    let mut name = [0u8; 48];
    let Some(name) = read_cstr(client, name_va, &mut name) else { return FAIL };
    let ok = service(name, &mut call, tree, inst, client, plat);
    if !ok {
        return FAIL;
    }
    let mut out = [0u8; 8 * MAX_CELLS as usize];
    for i in 0..call.nrets {
        out[i * 8..i * 8 + 8].copy_from_slice(&call.rets[i].to_be_bytes());
    }
    if !client.write(array + 24 + 8 * nargs, &out[..call.nrets * 8]) {
        return FAIL;
    }
    0
}

/// Reads a NUL-terminated string of at most `buf.len() - 1` bytes at `va` (byte by byte
/// up to the first unreadable byte); `None` if unreadable, unterminated or too long.
pub fn read_cstr<'b>(client: &mut dyn Client, va: u64, buf: &'b mut [u8]) -> Option<&'b [u8]> {
    if va == 0 {
        return None;
    }
    for i in 0..buf.len() {
        let mut b = [0u8];
        if !client.read(va.checked_add(i as u64)?, &mut b) {
            return None;
        }
        if b[0] == 0 {
            return Some(&buf[..i]);
        }
        buf[i] = b[0];
    }
    None
}

/// The services this firmware has (for `test`).
pub const SERVICES: &[&str] = &[
    "test",
    "peer",
    "child",
    "parent",
    "getproplen",
    "getprop",
    "nextprop",
    "setprop",
    "finddevice",
    "instance-to-package",
    "package-to-path",
    "instance-to-path",
    "canon",
    "write",
    "read",
    "open",
    "close",
    "seek",
    "call-method",
    "claim",
    "release",
    "milliseconds",
    "interpret",
    "exit",
    "boot",
    "enter",
    "SUNW,set-trap-table",
    "SUNW,start-cpu-by-cpuid",
    "SUNW,stop-cpu-by-cpuid",
    "SUNW,stop-self",
    "SUNW,power-off",
    "SUNW,soft-state-supported",
];

fn need(call: &Call, nargs: usize, nrets: usize) -> bool {
    call.nargs >= nargs && call.nrets >= nrets
}

fn ph32(v: u64) -> Option<u32> {
    u32::try_from(v).ok()
}

/// Runs one service; `false`: unknown, or not enough argument/result cells.
fn service(
    name: &[u8],
    call: &mut Call,
    tree: &mut Tree,
    inst: &Instances,
    client: &mut dyn Client,
    plat: &mut dyn Platform,
) -> bool {
    let a = call.args;
    match name {
        b"test" => {
            if !need(call, 1, 1) {
                return false;
            }
            let mut s = [0u8; MAX_STRING];
            call.rets[0] = match read_cstr(client, a[0], &mut s) {
                Some(s) if SERVICES.iter().any(|x| x.as_bytes() == s) => 0,
                _ => FAIL,
            };
        }
        b"peer" | b"child" | b"parent" => {
            if !need(call, 1, 1) {
                return false;
            }
            let r = match (name, ph32(a[0])) {
                (b"peer", Some(p)) => tree.peer(p),
                (b"child", Some(p)) => tree.child(p),
                (_, Some(p)) => tree.parent(p),
                _ => Err(crate::tree::TreeError::BadPhandle),
            };
            // A bad phandle answers 0 ("no such node"), as Linux expects from OpenBoot.
            call.rets[0] = r.map(u64::from).unwrap_or(0);
        }
        b"getproplen" | b"getprop" | b"nextprop" | b"setprop" => return prop_service(name, call, tree, client),
        b"finddevice" => {
            if !need(call, 1, 1) {
                return false;
            }
            let mut s = [0u8; MAX_STRING];
            call.rets[0] = read_cstr(client, a[0], &mut s).and_then(|p| tree.find(p)).map(u64::from).unwrap_or(FAIL);
        }
        b"instance-to-package" => {
            if !need(call, 1, 1) {
                return false;
            }
            call.rets[0] = ph32(a[0]).and_then(|i| inst.package(i)).map(u64::from).unwrap_or(FAIL);
        }
        b"package-to-path" | b"instance-to-path" => {
            if !need(call, 3, 1) {
                return false;
            }
            let node = if name == b"package-to-path" {
                ph32(a[0]).filter(|&p| tree.is_phandle(p))
            } else {
                ph32(a[0]).and_then(|i| inst.package(i))
            };
            call.rets[0] = match node {
                Some(n) => copy_path_out(tree, client, n, a[1], a[2]),
                None => FAIL,
            };
        }
        b"canon" => {
            if !need(call, 3, 1) {
                return false;
            }
            let mut s = [0u8; MAX_STRING];
            let node = read_cstr(client, a[0], &mut s).and_then(|p| tree.find(p));
            call.rets[0] = match node {
                Some(n) => copy_path_out(tree, client, n, a[1], a[2]),
                None => FAIL,
            };
        }
        b"write" => {
            if !need(call, 3, 1) {
                return false;
            }
            if ph32(a[0]) != Some(inst.ihandles.console) {
                call.rets[0] = FAIL;
                return true;
            }
            let mut done = 0u64;
            let len = a[2];
            let mut chunk = [0u8; 128];
            while done < len {
                let n = (len - done).min(chunk.len() as u64) as usize;
                let Some(va) = a[1].checked_add(done) else { break };
                if !client.read(va, &mut chunk[..n]) {
                    break;
                }
                let w = plat.console_write(&chunk[..n]);
                done += w as u64;
                if w < n {
                    break;
                }
            }
            call.rets[0] = if done == 0 && len != 0 { FAIL } else { done };
        }
        b"read" => {
            if !need(call, 3, 1) {
                return false;
            }
            if ph32(a[0]) != Some(inst.ihandles.console) {
                call.rets[0] = FAIL;
                return true;
            }
            let mut chunk = [0u8; 128];
            let n = (a[2].min(chunk.len() as u64)) as usize;
            let got = plat.console_read(&mut chunk[..n]);
            call.rets[0] = if got == 0 && n != 0 {
                // 1275: -2 when no input is available now.
                (-2i64) as u64
            } else if client.write(a[1], &chunk[..got]) {
                got as u64
            } else {
                FAIL
            };
        }
        b"open" => {
            if !need(call, 1, 1) {
                return false;
            }
            let mut s = [0u8; MAX_STRING];
            let node = read_cstr(client, a[0], &mut s).and_then(|p| tree.find(p));
            let i = inst.ihandles;
            call.rets[0] = match node {
                Some(n) if n == inst.packages.console => i.console as u64,
                Some(n) if n == inst.packages.mmu => i.mmu as u64,
                Some(n) if n == inst.packages.memory => i.memory as u64,
                _ => 0,
            };
        }
        b"close" => {
            if !need(call, 1, 0) {
                return false;
            }
        }
        b"seek" => {
            if !need(call, 3, 1) {
                return false;
            }
            call.rets[0] = FAIL;
        }
        b"call-method" => return call_method(call, tree, inst, client, plat),
        b"claim" => {
            // ( virt size align -- base ): virtual memory at `virt` (align 0) or anywhere
            // aligned, backed by claimed real memory and mapped (IEEE 1275 §6.3.2.5).
            if !need(call, 3, 1) {
                return false;
            }
            call.rets[0] = claim_mapped(tree, inst, plat, a[0], a[1], a[2]).unwrap_or(FAIL);
        }
        b"release" => {
            // ( virt size -- ): unmapped, and its real memory given back.
            if !need(call, 2, 0) {
                return false;
            }
            release_mapped(tree, inst, plat, a[0], a[1]);
        }
        b"milliseconds" => {
            if !need(call, 0, 1) {
                return false;
            }
            call.rets[0] = plat.milliseconds();
        }
        b"interpret" => {
            // No Forth: Linux sends only optional strings (prom_feval); each answers
            // "done" with no stack results.
            if !need(call, 1, 1) {
                return false;
            }
            call.rets[0] = 0;
            for r in call.rets.iter_mut().take(call.nrets).skip(1) {
                *r = 0;
            }
        }
        b"SUNW,set-trap-table" => {
            if !need(call, 1, 0) {
                return false;
            }
            let mmfsa = if call.nargs >= 2 { a[1] } else { 0 };
            if !plat.set_trap_table(a[0], mmfsa) {
                return false;
            }
        }
        // Linux passes no result cell; a status goes to the first one if there is one.
        b"SUNW,start-cpu-by-cpuid" => {
            if !need(call, 3, 0) {
                return false;
            }
            call.rets[0] = plat.start_cpu(a[0], a[1], a[2]);
        }
        b"SUNW,stop-cpu-by-cpuid" => {
            if !need(call, 1, 0) {
                return false;
            }
            call.rets[0] = plat.stop_cpu(a[0]);
        }
        b"SUNW,stop-self" => plat.stop_self(),
        b"SUNW,power-off" => plat.power_off(),
        b"exit" | b"enter" => plat.exit(),
        b"boot" => {
            let mut s = [0u8; MAX_STRING];
            let args = if call.nargs >= 1 { read_cstr(client, a[0], &mut s).unwrap_or(b"") } else { b"" };
            plat.reboot(args);
        }
        b"SUNW,soft-state-supported" => {}
        _ => return false,
    }
    true
}

/// Copies `data` to the client's buffer (`buf`, `buflen` bytes, truncated to fit) and
/// returns `full_len` (1275: the length of the whole value), or -1 if unwritable.
/// The path of node `n` into the client's buffer (`canon`, `package-to-path`,
/// `instance-to-path`): its full length, or `FAIL`.
fn copy_path_out(tree: &Tree, client: &mut dyn Client, n: u32, buf: u64, buflen: u64) -> u64 {
    let mut path = [0u8; MAX_STRING];
    match tree.path(n, &mut path) {
        Ok(len) => copy_out(client, buf, buflen, &path[..len.min(MAX_STRING)], len),
        Err(_) => FAIL,
    }
}

fn copy_out(client: &mut dyn Client, buf: u64, buflen: u64, data: &[u8], full_len: usize) -> u64 {
    let n = (buflen.min(data.len() as u64)) as usize;
    if n > 0 && !client.write(buf, &data[..n]) {
        return FAIL;
    }
    // Add a NUL when there is room (Linux's prom_ihandle2path expects a string).
    if buflen > n as u64 && n == data.len() {
        let _ = client.write(buf + n as u64, &[0]);
    }
    full_len as u64
}

fn prop_service(name: &[u8], call: &mut Call, tree: &mut Tree, client: &mut dyn Client) -> bool {
    let a = call.args;
    let (nargs, nrets) = match name {
        b"getproplen" => (2, 1),
        b"nextprop" => (3, 1),
        b"getprop" | b"setprop" => (4, 1),
        _ => return false,
    };
    if !need(call, nargs, nrets) {
        return false;
    }
    call.rets[0] = FAIL;
    let Some(ph) = ph32(a[0]).filter(|&p| tree.is_phandle(p)) else { return true };
    let mut pname = [0u8; 40];
    let pname: &[u8] = if name == b"nextprop" && a[1] == 0 {
        b""
    } else {
        match read_cstr(client, a[1], &mut pname) {
            Some(p) => p,
            None => return true,
        }
    };
    match name {
        b"getproplen" => {
            if let Some(v) = tree.prop(ph, pname) {
                call.rets[0] = v.len() as u64;
            }
        }
        b"getprop" => {
            if let Some(v) = tree.prop(ph, pname) {
                let n = a[3].min(v.len() as u64) as usize;
                call.rets[0] = if n == 0 || client.write(a[2], &v[..n]) { v.len() as u64 } else { FAIL };
            }
        }
        b"nextprop" => {
            // 1275: 1 and the next name, 0 after the last, -1 for a bad name. The buffer
            // holds 32 bytes (a property name and its NUL).
            let buflen = NEXTPROP_BUF;
            call.rets[0] = match tree.next_prop(ph, pname) {
                Ok(Some(next)) => {
                    let mut out = [0u8; 33];
                    let n = next.len().min(32);
                    out[..n].copy_from_slice(&next[..n]);
                    if buflen > n && client.write(a[2], &out[..n + 1]) {
                        1
                    } else {
                        FAIL
                    }
                }
                Ok(None) => {
                    let _ = client.write(a[2], &[0]);
                    0
                }
                Err(_) => FAIL,
            };
        }
        b"setprop" => {
            let len = a[3];
            let mut v = [0u8; 512];
            if len as usize > v.len() || !client.read(a[2], &mut v[..len as usize]) {
                return true;
            }
            let Ok(pname) = core::str::from_utf8(pname) else { return true };
            if tree.set_prop(ph, pname, &v[..len as usize]).is_ok() {
                call.rets[0] = len;
            }
        }
        _ => return false,
    }
    true
}

/// `call-method`: `[method, ihandle, args…]` → `[catch-result, results…]`. The MMU
/// instance has `translate`, `map`, `unmap`, `claim`; the memory instance `claim`,
/// `release`. A bad ihandle or method gives catch-result -1.
fn call_method(
    call: &mut Call,
    tree: &mut Tree,
    inst: &Instances,
    client: &mut dyn Client,
    plat: &mut dyn Platform,
) -> bool {
    if !need(call, 2, 1) {
        return false;
    }
    let a = call.args;
    let mut m = [0u8; 32];
    let Some(method) = read_cstr(client, a[0], &mut m) else {
        call.rets[0] = FAIL;
        return true;
    };
    let ih = ph32(a[1]);
    // Stack arguments: 1275 passes them in reverse order after the ihandle.
    let margs = &a[2..call.nargs.max(2)];
    let n = margs.len();
    let arg = |i: usize| -> u64 {
        if i < n {
            margs[i]
        } else {
            0
        }
    };
    call.rets[0] = FAIL;
    if ih == Some(inst.ihandles.mmu) {
        match method {
            b"claim" if n >= 2 && (arg(0) != 0 || n >= 3) && call.nrets >= 2 => {
                // ( [virt] size align -- base ): virtual address space only.
                let (align, size) = (arg(0), arg(1));
                let want = if align == 0 { arg(2) } else { 0 };
                if let Some(va) = claim_range(tree, inst.packages.mmu, want, size, align) {
                    call.rets[0] = 0;
                    call.rets[1] = va;
                }
            }
            b"release"
                if n >= 2
                // ( virt size -- ): size, virt.
                && release_range(tree, inst.packages.mmu, arg(1), arg(0)) =>
            {
                call.rets[0] = 0;
            }
            b"translate" if n >= 1 && call.nrets >= 5 => {
                // ( virt -- false | phys.lo phys.hi mode true ), results in reverse.
                match plat.translate(arg(0)) {
                    Some((ra, mode)) => {
                        call.rets[0] = 0;
                        call.rets[1] = FAIL; // true
                        call.rets[2] = mode;
                        call.rets[3] = 0;
                        call.rets[4] = ra;
                    }
                    None => {
                        call.rets[0] = 0;
                        call.rets[1] = 0;
                    }
                }
            }
            b"map" if n >= 5 => {
                // ( phys.lo phys.hi virt size mode -- ), cells in reverse order:
                // mode, size, virt, phys.hi, phys.lo.
                let (mode, size, virt, phys) = (arg(0), arg(1), arg(2), arg(4));
                if plat.map(virt, phys, size, mode) {
                    call.rets[0] = 0;
                }
            }
            b"unmap"
                if n >= 2
                // ( virt size -- ): size, virt.
                && plat.unmap(arg(1), arg(0)) =>
            {
                call.rets[0] = 0;
            }
            _ => {}
        }
    } else if ih == Some(inst.ihandles.memory) {
        match method {
            b"claim" if n >= 2 && (arg(0) != 0 || n >= 4) && call.nrets >= 2 => {
                // ( [phys.lo phys.hi] size align -- base.lo base.hi ): align, size, phys.hi,
                // phys.lo (phys only when align is 0).
                let (align, size) = (arg(0), arg(1));
                let want = if align == 0 { arg(3) } else { 0 };
                if let Some(ra) = claim_phys(tree, inst.packages.memory, want, size, align) {
                    call.rets[0] = 0;
                    call.rets[1] = 0;
                    if call.nrets >= 3 {
                        call.rets[1] = 0;
                        call.rets[2] = ra;
                    } else {
                        call.rets[1] = ra;
                    }
                }
            }
            b"release"
                if n >= 3
                // ( phys.lo phys.hi size -- ): size, phys.hi, phys.lo.
                && release_phys(tree, inst.packages.memory, arg(2), arg(0)) =>
            {
                call.rets[0] = 0;
            }
            _ => {}
        }
    } else if ih == Some(inst.ihandles.console) {
        // No methods on the console; catch-result -1.
    }
    true
}

/// Most `/memory available` ranges the firmware keeps track of.
const MAX_AVAIL: usize = 32;

fn read_avail(tree: &Tree, memory: u32, out: &mut [(u64, u64); MAX_AVAIL]) -> usize {
    let Some(v) = tree.prop(memory, b"available") else { return 0 };
    let mut n = 0;
    for c in v.chunks_exact(16).take(MAX_AVAIL) {
        let base = u64::from_be_bytes(c[..8].try_into().unwrap_or([0; 8]));
        let size = u64::from_be_bytes(c[8..].try_into().unwrap_or([0; 8]));
        out[n] = (base, size);
        n += 1;
    }
    n
}

fn write_avail(tree: &mut Tree, memory: u32, ranges: &[(u64, u64)]) -> bool {
    let mut cells = [0u64; 2 * MAX_AVAIL];
    let mut n = 0;
    for &(b, s) in ranges.iter().filter(|r| r.1 != 0).take(MAX_AVAIL) {
        cells[n] = b;
        cells[n + 1] = s;
        n += 2;
    }
    tree.set_u64s(memory, "available", &cells[..n]).is_ok()
}

/// The memory instance's `claim`: takes `size` bytes at `ra` (`align` 0) or at the lowest
/// address aligned to `align` (a power of two) out of `/memory available`, which then no
/// longer lists them; `None` if no available range holds them.
pub fn claim_phys(tree: &mut Tree, memory: u32, ra: u64, size: u64, align: u64) -> Option<u64> {
    claim_range(tree, memory, ra, size, align)
}

/// Takes a range out of the `available` property of `node` (`/memory` or
/// `/virtual-memory`), as [`claim_phys`] describes.
pub fn claim_range(tree: &mut Tree, memory: u32, ra: u64, size: u64, align: u64) -> Option<u64> {
    if size == 0 || (align != 0 && !align.is_power_of_two()) {
        return None;
    }
    let mut avail = [(0u64, 0u64); MAX_AVAIL];
    let n = read_avail(tree, memory, &mut avail);
    let mut ranges = avail;
    let found = (0..n).find_map(|i| {
        let (b, s) = avail[i];
        let start = if align == 0 { ra } else { b.checked_add(align - 1)? & !(align - 1) };
        let end = start.checked_add(size)?;
        (start >= b && end <= b + s).then_some((i, start, end))
    })?;
    let (i, start, end) = found;
    let (b, s) = avail[i];
    // The range splits into what is left below and above the claim.
    ranges[i] = (b, start - b);
    let above = (end, b + s - end);
    let mut list = [(0u64, 0u64); MAX_AVAIL + 1];
    list[..n].copy_from_slice(&ranges[..n]);
    list[n] = above;
    if n + 1 > MAX_AVAIL && above.1 != 0 && ranges[i].1 != 0 {
        return None;
    }
    write_avail(tree, memory, &list[..n + 1]).then_some(start)
}

/// The memory instance's `release`: gives `size` bytes at `ra` back to `/memory
/// available`; `false` if any of them is available already (not claimed) or the list is
/// full.
pub fn release_phys(tree: &mut Tree, memory: u32, ra: u64, size: u64) -> bool {
    release_range(tree, memory, ra, size)
}

/// Gives a range back to the `available` property of `node`, as [`release_phys`].
pub fn release_range(tree: &mut Tree, memory: u32, ra: u64, size: u64) -> bool {
    let Some(end) = ra.checked_add(size) else { return false };
    if size == 0 {
        return false;
    }
    let mut avail = [(0u64, 0u64); MAX_AVAIL];
    let n = read_avail(tree, memory, &mut avail);
    if avail[..n].iter().any(|&(b, s)| ra < b + s && b < end) || n == MAX_AVAIL {
        return false;
    }
    avail[n] = (ra, size);
    avail[..n + 1].sort_unstable();
    write_avail(tree, memory, &avail[..n + 1])
}

/// Page size of the memory `claim` maps.
const CLAIM_PAGE: u64 = 8192;

/// Top-level `claim`: virtual space from `/virtual-memory available`, real memory from
/// `/memory available`, mapped; everything is given back if a step fails.
fn claim_mapped(
    tree: &mut Tree,
    inst: &Instances,
    plat: &mut dyn Platform,
    virt: u64,
    size: u64,
    align: u64,
) -> Option<u64> {
    let size = size.checked_add(CLAIM_PAGE - 1)? & !(CLAIM_PAGE - 1);
    let valign = if align == 0 { 0 } else { align.max(CLAIM_PAGE) };
    if align == 0 && !virt.is_multiple_of(CLAIM_PAGE) {
        return None;
    }
    let va = claim_range(tree, inst.packages.mmu, virt, size, valign)?;
    let Some(ra) = claim_range(tree, inst.packages.memory, 0, size, CLAIM_PAGE) else {
        release_range(tree, inst.packages.mmu, va, size);
        return None;
    };
    if !plat.map(va, ra, size, FAIL) {
        release_range(tree, inst.packages.memory, ra, size);
        release_range(tree, inst.packages.mmu, va, size);
        return None;
    }
    Some(va)
}

/// Top-level `release`: the real memory behind `virt` (as translated) and the virtual
/// range go back to the available lists; the mapping goes.
fn release_mapped(tree: &mut Tree, inst: &Instances, plat: &mut dyn Platform, virt: u64, size: u64) {
    let size = match size.checked_add(CLAIM_PAGE - 1) {
        Some(s) => s & !(CLAIM_PAGE - 1),
        None => return,
    };
    if let Some((ra, _)) = plat.translate(virt) {
        release_range(tree, inst.packages.memory, ra & !(CLAIM_PAGE - 1), size);
    }
    plat.unmap(virt, size);
    release_range(tree, inst.packages.mmu, virt, size);
}
