//! Where GetFunction's `Code.Location` and GetLayerVersion's `Content.Location` point: a
//! path on the nimbus endpoint that serves the stored zip, so the code can be downloaded
//! as from AWS's presigned S3 URL.

use std::fmt::Display;

use nimbus_core::RequestContext;

use crate::Lambda;
use crate::versions::Version;

/// The path below `/_nimbus/` that serves code.
pub const CODE_PATH: &str = "lambda-code/";

/// The download URL of a function version's zip (`$LATEST` or a number).
pub(crate) fn function_code_url(ctx: &RequestContext, name: &str, version: &str) -> String {
    code_url(ctx, "function", name, version)
}

/// The download URL of a layer version's zip.
pub(crate) fn layer_code_url(ctx: &RequestContext, name: &str, version: i64) -> String {
    code_url(ctx, "layer", name, version)
}

fn code_url(ctx: &RequestContext, kind: &str, name: &str, version: impl Display) -> String {
    format!(
        "{}/_nimbus/{CODE_PATH}{kind}/{}/{}/{name}/{version}",
        ctx.base_url.trim_end_matches('/'),
        ctx.account_id,
        ctx.region
    )
}

impl Lambda {
    /// The zip a download path (below [`CODE_PATH`]) names, or `None` when it names nothing.
    pub fn code_download(&self, path: &str) -> Option<Vec<u8>> {
        let parts: Vec<&str> = path.split('/').collect();
        let [kind, account, region, name, version] = parts.as_slice() else {
            return None;
        };
        let ctx = RequestContext::internal(account, region, "");
        match *kind {
            "function" => {
                let version = Version::parse(&version.replace("%24", "$"))?;
                self.version_code_zip(&ctx, name, version).ok()
            }
            "layer" => self
                .layer_zip(&ctx, name, version.parse().ok()?)
                .ok()
                .flatten(),
            _ => None,
        }
    }
}
