using Microsoft.AspNetCore.Mvc;

namespace VpsPanel.Features.Shared;

/// <summary>The few htmx request/response headers we use, by hand (no helper package is obtainable).</summary>
public static class Htmx
{
    public static bool IsHtmx(this HttpRequest r) => r.Headers["HX-Request"] == "true";

    /// <summary>After a successful POST: htmx gets HX-Location (a client-side navigation), a plain form a 303 See Other.</summary>
    public static IActionResult RedirectAfterPost(HttpContext ctx, string url)
    {
        if (ctx.Request.IsHtmx())
        {
            ctx.Response.Headers["HX-Location"] = url;
            return new NoContentResult();
        }
        ctx.Response.Headers.Location = url;
        return new StatusCodeResult(StatusCodes.Status303SeeOther);
    }
}
