//! The room's pages: server-rendered HTML, no scripts, no images, one
//! inline style sheet allowed by its hash in the Content-Security-Policy.

use cavra_store::Item;

use crate::rooms::Room;

/// The one style sheet (its sha256 goes into the CSP).
pub(crate) const STYLE: &str = "body{font:16px/1.5 system-ui,sans-serif;margin:0;color:#1b1f24;background:#fff}\
main{max-width:60rem;margin:0 auto;padding:1.5rem}h1{font-size:1.6rem;margin:.2rem 0 1rem}\
p.meta{color:#4a5560}table{border-collapse:collapse;width:100%}caption{text-align:left;font-weight:600;padding:.4rem 0}\
th,td{border-bottom:1px solid #c9d1d9;padding:.45rem .5rem;text-align:left;vertical-align:top}\
th,td.fmt{white-space:nowrap}td.name{overflow-wrap:anywhere}td.num,th.num{text-align:right;white-space:nowrap}\
.scroll{overflow-x:auto}\
th{background:#eef2f6}td.digest{font-family:monospace;font-size:.8rem;word-break:break-all}\
a{color:#0b57a3}.notice{border-left:4px solid #8a6d00;background:#fff3cd;padding:.6rem 1rem}\
form{margin:1rem 0}label{display:block;font-weight:600;margin-bottom:.3rem}\
input{font:inherit;padding:.3rem .5rem}button{font:inherit;padding:.35rem .9rem;background:#0b57a3;color:#fff;border:0}\
pre{white-space:pre-wrap;background:#f6f8fa;padding:1rem}@media (max-width:40rem){td.digest{font-size:.68rem}}";

/// Escapes text for HTML element content and attribute values; control and
/// bidirectional-override characters are dropped.
pub(crate) fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c if c.is_control() || cavra_model::gate::is_bidi_control(c) => {}
            c => out.push(c),
        }
    }
    out
}

fn page(title: &str, body: &str) -> String {
    format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <meta name=\"robots\" content=\"noindex, nofollow\"><title>{}</title><style>{STYLE}</style></head>\
         <body><main>{body}</main></body></html>\n",
        escape(title)
    )
}

/// What the room page shows about the recipient's standing.
pub(crate) struct Standing<'a> {
    /// The link's base path (`/rooms/<room>/<token>`).
    pub base: &'a str,
    /// The recipient's class.
    pub class: &'a str,
    /// The terms to accept first, when not accepted yet.
    pub terms: Option<&'a str>,
}

/// The room: what it shares, each file's digest, how to verify.
pub(crate) fn room(r: &Room, files: &[Item], s: &Standing<'_>) -> String {
    let mut body = format!(
        "<h1>Evidence room</h1><p class=\"meta\">Room {} for {} · shared with {} recipients · open until {}</p>",
        escape(&r.id),
        escape(&r.audience),
        escape(&s.class.replace('_', " ")),
        escape(&cavra_model::Timestamp::show_unix(r.expires_at))
    );
    if let Some(terms) = s.terms {
        body.push_str(&format!(
            "<section aria-labelledby=\"terms\"><h2 id=\"terms\">Terms</h2><p class=\"notice\">Accept these terms before \
             the first download.</p><pre>{}</pre><form method=\"post\" action=\"{}/terms\"><button type=\"submit\" \
             name=\"accept\" value=\"yes\">I accept these terms</button></form></section>",
            escape(terms),
            escape(s.base)
        ));
    }
    body.push_str(
        "<p>PDF, Word and HTML files are watermarked copies naming your access; the other files are served as stored. \
         Every file's sha256 is listed, and the package verifies offline with <code>cavra-reports verify PACKAGE.zip \
         --pubkey KEY.pub</code> or <code>minisign</code>.</p><div class=\"scroll\" role=\"region\" aria-label=\"Files\" tabindex=\"0\"><table><caption>Files in this room</caption><thead><tr>\
         <th scope=\"col\">File</th><th scope=\"col\">Format</th><th scope=\"col\" class=\"num\">Bytes</th><th scope=\"col\">sha256</th>\
         </tr></thead><tbody>",
    );
    for f in files {
        let name = escape(&f.name);
        let cell = if s.terms.is_some() {
            name
        } else {
            format!("<a href=\"{}/files/{}\" download>{name}</a>", escape(s.base), escape(&f.id))
        };
        body.push_str(&format!(
            "<tr><td class=\"name\">{cell}</td><td class=\"fmt\">{}</td><td class=\"num\">{}</td><td class=\"digest\">{}</td></tr>",
            escape(&f.format),
            f.size,
            escape(f.sha256.trim_start_matches("sha256:"))
        ));
    }
    body.push_str("</tbody></table></div>");
    page("Evidence room", &body)
}

/// The form asking for the second factor.
pub(crate) fn code_form(base: &str, wrong: bool) -> String {
    let note =
        if wrong { "<p class=\"notice\" role=\"alert\">That code is not valid. Try the current one.</p>" } else { "" };
    page(
        "Evidence room: verification code",
        &format!(
            "<h1>Verification code</h1>{note}<p>This room asks for the six-digit code from the authenticator you set up \
             with your invitation.</p><form method=\"post\" action=\"{}/code\"><label for=\"code\">Code</label>\
             <input id=\"code\" name=\"code\" inputmode=\"numeric\" autocomplete=\"one-time-code\" pattern=\"[0-9]{{6}}\" \
             maxlength=\"6\" required> <button type=\"submit\">Open the room</button></form>",
            escape(base)
        ),
    )
}

/// A notice: the link is expired, revoked, not valid, or the page is not there.
pub(crate) fn notice(title: &str, text: &str) -> String {
    page(title, &format!("<h1>{}</h1><p class=\"notice\">{}</p>", escape(title), escape(text)))
}

#[cfg(test)]
mod tests {
    #[test]
    fn escape_covers_markup_and_controls() {
        assert_eq!(
            super::escape("<a href=\"x\">'&'</a>\u{202e}\u{7}"),
            "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;"
        );
    }
}
