using Htmx;
using Microsoft.AspNetCore.Mvc;

namespace VpsPanel.Features.Shared;

/// <summary>Where a successful POST sends the browser (GUIDE habit 7); the htmx headers come from the Htmx package.</summary>
public static class PostRedirect
{
    /// <summary>htmx gets HX-Location (a client-side navigation, no full reload), a plain form a 303 See Other.</summary>
    public static IActionResult To(HttpContext ctx, string url)
    {
        if (ctx.Request.IsHtmx())
        {
            ctx.Response.Htmx(h => h.Location(url));
            return new NoContentResult();
        }
        ctx.Response.Headers.Location = url;
        return new StatusCodeResult(StatusCodes.Status303SeeOther);
    }
}
