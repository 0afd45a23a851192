//! The grant types (RFC 6749 §4, §6): a value every layer names — the
//! server's configuration, a client's registration, the grants themselves —
//! so it lives below all of them.

/// A grant type (RFC 6749 §4, §6).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Grant {
    /// §4.1, with PKCE (RFC 7636).
    AuthorizationCode,
    /// §4.2 (legacy; off by default).
    Implicit,
    /// §4.3 (legacy; off by default).
    Password,
    /// §4.4.
    ClientCredentials,
    /// §6.
    RefreshToken,
    /// The device authorization grant (RFC 8628; off by default, and
    /// enabling it needs
    /// [`ServerBuilder::device_verification_uri`](crate::ServerBuilder::device_verification_uri)).
    DeviceCode,
}

impl Grant {
    /// Every grant type.
    pub const ALL: [Grant; 6] = [
        Grant::AuthorizationCode,
        Grant::Implicit,
        Grant::Password,
        Grant::ClientCredentials,
        Grant::RefreshToken,
        Grant::DeviceCode,
    ];

    /// The grant's name: the `grant_type` value, or `implicit`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Grant::AuthorizationCode => "authorization_code",
            Grant::Implicit => "implicit",
            Grant::Password => "password",
            Grant::ClientCredentials => "client_credentials",
            Grant::RefreshToken => "refresh_token",
            Grant::DeviceCode => crate::device::DEVICE_CODE_GRANT_TYPE,
        }
    }

    /// The grant named `name`, as [`as_str`](Self::as_str) writes it
    /// (`implicit` included, which is no `grant_type`).
    ///
    /// ```
    /// use oauth2_provider::Grant;
    /// assert_eq!(Grant::from_name("implicit"), Some(Grant::Implicit));
    /// assert_eq!(Grant::from_name("password"), Some(Grant::Password));
    /// assert_eq!(Grant::from_name("magic"), None);
    /// ```
    pub fn from_name(name: &str) -> Option<Grant> {
        Grant::ALL.into_iter().find(|g| g.as_str() == name)
    }

    /// The grant whose `grant_type` (token endpoint) is `name`.
    ///
    /// ```
    /// use oauth2_provider::Grant;
    /// let urn = "urn:ietf:params:oauth:grant-type:device_code";
    /// assert_eq!(Grant::from_grant_type(urn), Some(Grant::DeviceCode));
    /// assert_eq!(Grant::DeviceCode.as_str(), urn);
    /// assert_eq!(Grant::from_grant_type("implicit"), None);
    /// ```
    pub fn from_grant_type(name: &str) -> Option<Grant> {
        match name {
            "authorization_code" => Some(Grant::AuthorizationCode),
            "password" => Some(Grant::Password),
            "client_credentials" => Some(Grant::ClientCredentials),
            "refresh_token" => Some(Grant::RefreshToken),
            crate::device::DEVICE_CODE_GRANT_TYPE => Some(Grant::DeviceCode),
            _ => None,
        }
    }

    /// The names of the grants in `set` (bits of [`bit`](Self::bit)), in
    /// the order of [`ALL`](Self::ALL): for `Debug` output.
    pub(crate) fn names_in(set: u8) -> Vec<&'static str> {
        Grant::ALL
            .iter()
            .filter(|g| set & g.bit() != 0)
            .map(|g| g.as_str())
            .collect()
    }

    /// The grant's bit in a set of grants (`u8`, one bit per grant).
    pub(crate) const fn bit(self) -> u8 {
        1 << self as u8
    }
}
