using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.Filters;

namespace VpsPanel.Features.Shared;

/// <summary>
/// A Razor page asked with a method (or ?handler=) it has no handler for is rendered anyway by the framework, with
/// none of its model loaded: POST / or PUT /projects/1 then failed with a 500 (a NullReferenceException in the view).
/// This page filter, registered for every page, answers 405 with an Allow header instead, or 400 when the page
/// does take the method but not the named handler. GET and HEAD are left alone: a page without OnGet (Forbidden)
/// is meant to render as it is.
/// </summary>
public sealed class UnhandledPageMethod : IPageFilter
{
    public void OnPageHandlerExecuting(PageHandlerExecutingContext context)
    {
        var method = context.HttpContext.Request.Method;
        if (context.HandlerMethod is not null || HttpMethods.IsGet(method) || HttpMethods.IsHead(method)) return;
        var taken = context.ActionDescriptor.HandlerMethods.Select(h => h.HttpMethod.ToUpperInvariant()).ToHashSet();
        if (taken.Contains(method.ToUpperInvariant()))
        {
            // Reached through a ?handler= this page does not have (a stale form, a hand-made request).
            context.Result = new StatusCodeResult(StatusCodes.Status400BadRequest);
            return;
        }
        context.HttpContext.Response.Headers.Allow = string.Join(", ", new[] { "GET", "HEAD" }.Union(taken.Order(StringComparer.Ordinal)));
        context.Result = new StatusCodeResult(StatusCodes.Status405MethodNotAllowed);
    }

    public void OnPageHandlerSelected(PageHandlerSelectedContext context) { }
    public void OnPageHandlerExecuted(PageHandlerExecutedContext context) { }
}
