using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.Filters;
using Microsoft.AspNetCore.Mvc.RazorPages;

namespace VpsPanel.Features.Shared;

/// <summary>
/// A page as it was sent, kept so that the next view with the same inputs sends the same bytes instead of rendering
/// again (issue 20: MVC's view execution, the layout and the partials were half or more of a view's CPU on the
/// dashboard and the project page at 1,000 projects, bench/pages.sh). A page model keeps these next to the data it
/// read (Data/ReadCache), so they go with it at the next commit or LiveState change, and compares the inputs it reads
/// per view (the system checks, the engine's answers, the Git mirror's Dockerfile) before sending one.
/// The antiforgery token in the layout belongs to the antiforgery cookie and the user it was made for, so a page is
/// only ever kept for the same user's data (ReadCache keys are per user) and under the cookie the request sent.
/// </summary>
public sealed record KeptPage(object Inputs, byte[] Html, string? CacheControl, string? Pragma)
{
    /// <summary>The antiforgery cookie's name (PanelApp.AddAntiforgery).</summary>
    public const string AntiforgeryCookie = "vpspanel.af";

    const string KeepKey = "kept-page:keep";

    /// <summary>The cookie a kept page is filed under; null when the request has none (this view sets one, nothing to reuse).</summary>
    public static string? CookieOf(HttpRequest request) => request.Cookies[AntiforgeryCookie] is { Length: > 0 } af ? af : null;

    /// <summary>Sends a kept page with the headers the antiforgery token's rendering set (a page with a token is never cached by a browser or proxy).</summary>
    public static IActionResult Send(PageModel page, KeptPage kept)
    {
        if (kept.CacheControl is not null) page.Response.Headers.CacheControl = kept.CacheControl;
        if (kept.Pragma is not null) page.Response.Headers.Pragma = kept.Pragma;
        return new FileContentResult(kept.Html, "text/html; charset=utf-8");
    }

    /// <summary>Asks <see cref="KeepsWholePageAttribute"/> to hand this view's page, as sent, to <paramref name="keep"/>.</summary>
    public static void KeepThisView(HttpContext ctx, object inputs, Action<KeptPage> keep) => ctx.Items[KeepKey] = (inputs, keep);

    /// <summary>
    /// On a page model: buffers the page a view renders when the model asked for it (KeepThisView), sends it, and
    /// hands it over to be kept. Only a plain 200 that set no cookie is kept: a response that renewed the sign-in
    /// or issued a new antiforgery cookie belongs to that one request.
    /// </summary>
    [AttributeUsage(AttributeTargets.Class)]
    public sealed class KeepsWholePageAttribute : Attribute, IAsyncResultFilter
    {
        public async Task OnResultExecutionAsync(ResultExecutingContext context, ResultExecutionDelegate next)
        {
            if (context.HttpContext.Items[KeepKey] is not (object inputs, Action<KeptPage> keep) || context.Result is not PageResult)
            {
                await next();
                return;
            }
            var response = context.HttpContext.Response;
            var sent = response.Body;
            using var buffer = new MemoryStream();
            response.Body = buffer;
            try { await next(); }
            finally { response.Body = sent; }
            buffer.Position = 0;
            await buffer.CopyToAsync(sent, context.HttpContext.RequestAborted);
            if (response.StatusCode == StatusCodes.Status200OK && !response.Headers.ContainsKey(Microsoft.Net.Http.Headers.HeaderNames.SetCookie))
                keep(new(inputs, buffer.ToArray(), response.Headers.CacheControl.ToString() is { Length: > 0 } cc ? cc : null,
                    response.Headers.Pragma.ToString() is { Length: > 0 } p ? p : null));
        }
    }
}
