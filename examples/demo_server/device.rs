//! `/device`, the page where a user enters the code a device shows
//! (RFC 8628 §3.3): log in, then approve or deny what the device asked.
//!
//! Both actions need the login: the library throttles codes per user
//! (§5.1), and an anonymous page would let anyone try codes, or learn
//! which client waits behind one. The contract (DEMO_SERVER.md) gives one
//! step, login and decision together, so the page warns against remote
//! phishing (§5.4) before the decision, and the answer names the client
//! that was approved or denied.

use oauth2_provider::form::{Param, Params};
use oauth2_provider::{DeviceDecision, ErrorCode, Request, Response, Server};

use super::app::{demo_hint, error_banner, escape, form_value, html_page};
use super::storage::Store;

/// The form's fields and what went wrong, to draw the page again.
struct Form<'a> {
    user_code: &'a str,
    username: &'a str,
    error: Option<&'a str>,
}

/// `GET /device`: the form, the user code prefilled from `?user_code=`.
pub fn get(request: &Request<'_>, default_realm: bool) -> Response {
    let user_code = form_value(request.query().unwrap_or("").as_bytes(), "user_code");
    let form = Form {
        user_code: &user_code,
        username: "",
        error: None,
    };
    page(200, &form, default_realm)
}

/// `POST /device`: log in, then the decision.
pub fn post<S: Store>(server: &Server<S>, request: &Request<'_>, default_realm: bool) -> Response {
    let body = Params::parse(request.body()).unwrap_or_default();
    let user_code = form_value(request.body(), "user_code");
    let username = body.get(Param::Username).unwrap_or("");
    let password = body.get(Param::Password).unwrap_or("");
    let action = form_value(request.body(), "action");
    let form = |error| Form {
        user_code: &user_code,
        username,
        error: Some(error),
    };
    let decision = match &*action {
        "approve" => DeviceDecision::Approve,
        "deny" => DeviceDecision::Deny,
        _ => return page(400, &form("Choose Approve or Deny."), default_realm),
    };
    if !server.validator().check_user(username, password) {
        return page(401, &form("Wrong username or password."), default_realm);
    }
    // What the device asked for, shown on the answer page.
    let pending = match server.device_verification(request, username, &user_code) {
        Ok(pending) => pending,
        Err(e) => return refused(&e, &user_code, username, default_realm),
    };
    match server.device_decision(request, username, &user_code, None, decision) {
        Ok(()) => {
            let (title, what) = match decision {
                DeviceDecision::Approve => ("Device approved", "may now use"),
                DeviceDecision::Deny => ("Device denied", "gets no access to"),
            };
            let scope = if pending.scopes.is_empty() {
                "no particular permission".to_owned()
            } else {
                format!("<code>{}</code>", escape(pending.scopes.as_str()))
            };
            done(
                title,
                &format!(
                    "<code>{}</code> {what} your account ({scope}). You can return to your device.",
                    escape(&pending.client_id)
                ),
            )
        }
        Err(e) => refused(&e, &user_code, username, default_realm),
    }
}

/// The library refused the code: unknown or expired (400), too many wrong
/// codes (429), or the store failed (500).
fn refused(
    error: &oauth2_provider::OAuthError,
    user_code: &str,
    username: &str,
    default_realm: bool,
) -> Response {
    let (status, message) = match error.code() {
        ErrorCode::InvalidGrant => (400, "Unknown or expired code: check it on your device."),
        ErrorCode::TemporarilyUnavailable => (429, "Too many wrong codes: try again later."),
        _ => (500, "Something went wrong: try again."),
    };
    let form = Form {
        user_code,
        username,
        error: Some(message),
    };
    page(status, &form, default_realm)
}

/// The form.
fn page(status: u16, form: &Form<'_>, default_realm: bool) -> Response {
    let error = error_banner(form.error);
    let hint = demo_hint(default_realm);
    let body = format!(
        r#"<h1>Connect a device</h1>
<p>Enter the code your device shows, then log in.</p>
<p class="note">Approve only a device you have in front of you, showing this very code. If someone sent you this link or code, deny it: approving gives their device your account.</p>
{error}<form method="post" action="/device">
<label for="user_code">Code</label>
<input id="user_code" name="user_code" value="{user_code}" autocomplete="off" autocapitalize="characters" spellcheck="false" required>
<label for="username">Username</label>
<input id="username" name="username" autocomplete="username" value="{username}" required>
<label for="password">Password</label>
<input id="password" name="password" type="password" autocomplete="current-password" required>
<div class="actions">
<button type="submit" name="action" value="approve" class="approve">Approve</button>
<button type="submit" name="action" value="deny" class="deny">Deny</button>
</div>
</form>
{hint}
"#,
        user_code = escape(form.user_code),
        username = escape(form.username),
    );
    html_page(status, "Connect a device", &body)
}

/// The answer page after a decision.
fn done(title: &str, message_html: &str) -> Response {
    let body = format!(
        r#"<h1>{title}</h1>
<p>{message_html}</p>
"#
    );
    html_page(200, title, &body)
}
