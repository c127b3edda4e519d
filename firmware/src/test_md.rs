//! Machine descriptions for unit tests (host only), written with `ldom-config`'s MD writer,
//! the project's one writer (the firmware reads them with `hv-api`'s reader).

pub use ldom_config::md::Value;

/// Builds MDs node by node.
pub struct MdBuilder(ldom_config::md::Md);

impl MdBuilder {
    pub fn new() -> Self {
        MdBuilder(ldom_config::md::Md::new())
    }

    pub fn node(&mut self, name: &str) -> usize {
        self.0.add_node(name)
    }

    pub fn prop(&mut self, node: usize, name: &str, value: Value) {
        self.0.push(node, name, value);
    }

    pub fn build(&self) -> Vec<u8> {
        self.0.to_bytes()
    }
}
