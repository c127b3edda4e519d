//! The hypervisor's lock: a ticket spin lock (`spin::mutex::TicketMutex`). Fair between
//! strands, and cheap on SPARC V9: taking and releasing it are two 64-bit atomic adds
//! (`casx` loops), where a byte-sized lock needs a masked 32-bit `cas` each time.

/// A spin lock; see the module doc. Lock order: `crate::hypervisor::Hypervisor`'s doc.
pub type Mutex<T> = spin::mutex::TicketMutex<T>;
