namespace VpsPanel.Features.Shared;

/// <summary>
/// The browser-side hardening every panel response carries (pages, fragments, JSON, logs, static files, errors).
/// Set in Response.OnStarting, so they survive the exception handler and status code pages, which clear headers
/// and re-execute the request.
/// </summary>
public static class SecurityHeaders
{
    /// <summary>
    /// No inline script or style anywhere: the pages load /static/js/*.js and /static/css/site.css only, htmx is
    /// told not to eval (hx-on, js: values, trigger filters) and not to inject its indicator &lt;style&gt; (htmx-config
    /// in _Layout), and the log stream and "load earlier" call the panel itself (EventSource, fetch: connect-src).
    /// img-src allows data: for browser-generated images (none today, a QR code later). No 'unsafe-*' source is needed.
    /// frame-ancestors 'none' (and X-Frame-Options for older browsers): no other site may frame a signed-in page and
    /// have a user click its buttons. form-action 'self': a form injected into a page cannot post elsewhere.
    /// </summary>
    public const string ContentSecurityPolicy =
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; font-src 'self'; " +
        "frame-ancestors 'none'; form-action 'self'; base-uri 'none'; object-src 'none'";

    /// <summary>
    /// One year, this host only: no includeSubDomains, because project domains under the panel's name may be
    /// HTTP-only sites (local networks, IP-less names) that a subdomain-wide HSTS would make unreachable.
    /// </summary>
    public const string StrictTransportSecurity = "max-age=31536000";

    /// <summary>
    /// A page that must let in &lt;style&gt; elements a library makes at run time (the terminal's xterm.js) puts a fresh
    /// nonce here; its CSP then admits style elements carrying that nonce, and still no other inline style.
    /// </summary>
    public const string StyleNonceKey = "csp-style-nonce";

    /// <summary>After UseForwardedHeaders, so Request.IsHttps is true behind Caddy's TLS (X-Forwarded-Proto from the trusted proxy).</summary>
    public static void Use(WebApplication app) =>
        app.Use((ctx, next) =>
        {
            ctx.Response.OnStarting(() =>
            {
                var h = ctx.Response.Headers;
                h.ContentSecurityPolicy = ctx.Items[StyleNonceKey] is string nonce
                    ? ContentSecurityPolicy.Replace("style-src 'self'", $"style-src 'self' 'nonce-{nonce}'", StringComparison.Ordinal)
                    : ContentSecurityPolicy;
                h.XFrameOptions = "DENY";
                h.XContentTypeOptions = "nosniff";
                h["Referrer-Policy"] = "same-origin";
                // Only over HTTPS: browsers ignore it over plain HTTP anyway, and a panel reached by http://127.0.0.1
                // must not claim HTTPS for a name it cannot serve over HTTPS.
                if (ctx.Request.IsHttps) h.StrictTransportSecurity = StrictTransportSecurity;
                return Task.CompletedTask;
            });
            return next(ctx);
        });
}
