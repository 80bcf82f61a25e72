//! The device a session was started on: a short name and the client's address, stored as two
//! fields of the session hash at login (lesson 06) and written into the security log's events.
//!
//! Both come from the client (a `User-Agent` header, an `X-Forwarded-For` through a trusted
//! proxy), so both are bounded here, whoever the caller is: at most [`MAX_DEVICE_CHARS`]
//! characters, no control characters.

use std::net::IpAddr;

/// The longest device name stored, in characters.
pub const MAX_DEVICE_CHARS: usize = 200;

/// What a session's `device` field says when the client sent nothing to name it by.
pub const UNKNOWN_DEVICE: &str = "unknown device";

/// A device: its name ("Firefox on Linux") and the client address it logged in from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Device {
    name: String,
    ip: Option<IpAddr>,
}

impl Device {
    /// A device named `name` (control characters removed, surrounding spaces trimmed, cut to
    /// [`MAX_DEVICE_CHARS`] characters; nothing left is [`UNKNOWN_DEVICE`]), seen at `ip`.
    pub fn new(name: &str, ip: Option<IpAddr>) -> Device {
        let cleaned: String = name.chars().filter(|c| !c.is_control()).collect();
        let name: String = cleaned.trim().chars().take(MAX_DEVICE_CHARS).collect();
        let name = name.trim_end().to_string();
        if name.is_empty() { Device::unknown(ip) } else { Device { name, ip } }
    }

    /// A device nothing is known about but, perhaps, its address.
    pub fn unknown(ip: Option<IpAddr>) -> Device {
        Device { name: UNKNOWN_DEVICE.to_string(), ip }
    }

    /// The name, at most [`MAX_DEVICE_CHARS`] characters.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The client address, when one was known.
    pub fn ip(&self) -> Option<IpAddr> {
        self.ip
    }

    /// The address as the session hash and the log store it: empty when unknown.
    pub(crate) fn ip_field(&self) -> String {
        self.ip.map(|ip| ip.to_string()).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_bounded_and_cleaned() {
        let ip: Option<IpAddr> = "203.0.113.9".parse().ok();
        assert_eq!(Device::new("Firefox on Linux", ip).name(), "Firefox on Linux");
        assert_eq!(Device::new(" a\u{0}b\r\nc\u{7f} ", ip).name(), "abc");
        assert_eq!(Device::new("", None).name(), UNKNOWN_DEVICE);
        assert_eq!(Device::new("\n\t ", None).name(), UNKNOWN_DEVICE);
        let long = Device::new(&"é".repeat(5000), ip);
        assert_eq!(long.name().chars().count(), MAX_DEVICE_CHARS);
        assert_eq!(long.ip_field(), "203.0.113.9");
        assert_eq!(Device::unknown(None).ip_field(), "");
    }
}
