//! Facts of the hypervisor MD's schema that the configuration compiler (`ldom-config`, which
//! writes the HV MD) and the firmware (which reads it) must agree on: the table sizes, the
//! domain-name length and the failure-policy names (docs/hv-md-schema.md).

/// Most domains (`guest` nodes) an HV MD may describe: the firmware's guest table size.
pub const MAX_DOMAINS: usize = 8;
/// Most vCPUs (`cpu` nodes): one per UltraSPARC T1 strand.
pub const MAX_VCPUS: usize = 32;
/// Most LDC channel endpoints (`ldc_endpoint` nodes) an HV MD may describe: two per
/// channel, so at most 16 channels.
pub const MAX_LDC_ENDPOINTS: usize = 32;
/// Longest domain name (`guest` node `name`), in bytes.
pub const MAX_DOMAIN_NAME: usize = 31;
/// Default `entry-offset`: the guest starts at its power-on-reset vector, `TT_POR × 32`
/// from its real base (hv-api.md §4.7).
pub const DEFAULT_ENTRY_OFFSET: u64 = 0x20;

/// What the hypervisor does when a domain's guest fails beyond repair (a trap above
/// MAXPTL, an unexpected trap, an MMU fault with no fault area, an expired watchdog): the
/// `failure-policy` property of a `guest` node.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum FailurePolicy {
    /// `"stop"` (the default): stop the domain; the others go on.
    #[default]
    Stop,
    /// `"reset"`: restart the domain from its image.
    Reset,
    /// `"ignore"`: no action of the hypervisor's own: the failing vCPU gets the sun4v
    /// watchdog reset (RTBA + 0x40, memory kept), as Sun's hypervisor gives it, and the
    /// guest decides.
    Ignore,
}

impl FailurePolicy {
    /// Every policy, in the order the docs list them.
    pub const ALL: [FailurePolicy; 3] = [FailurePolicy::Stop, FailurePolicy::Reset, FailurePolicy::Ignore];

    /// The property (and configuration) spelling.
    pub const fn name(self) -> &'static str {
        match self {
            FailurePolicy::Stop => "stop",
            FailurePolicy::Reset => "reset",
            FailurePolicy::Ignore => "ignore",
        }
    }

    /// The policy a spelling names, if any.
    pub fn from_name(name: &str) -> Option<FailurePolicy> {
        Self::ALL.into_iter().find(|p| p.name() == name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for p in FailurePolicy::ALL {
            assert_eq!(FailurePolicy::from_name(p.name()), Some(p));
        }
        assert_eq!(FailurePolicy::from_name("panic"), None);
    }
}
