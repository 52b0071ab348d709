using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Diagnostics;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;

namespace VpsPanel.Features.Shared;

/// <summary>The one page every error lands on: a status code and a sentence, never a stack trace.</summary>
[AllowAnonymous]
[Microsoft.AspNetCore.Mvc.IgnoreAntiforgeryToken]
public sealed class ErrorModel : PageModel
{
    public int Code { get; private set; }

    public string Message => Code switch
    {
        404 => "There is nothing here. The page or project may have been removed, or you may not have access to it.",
        403 => "You do not have access to this page.",
        400 => "The request could not be understood. Reload the page and try again.",
        405 => "This page does not take that kind of request. Go back and use the page's own buttons and forms.",
        413 => "What you sent is too large.",
        _ => "Something went wrong on the panel. The panel's log has the details.",
    };

    public IActionResult OnGet(int? code)
    {
        Code = code ?? Response.StatusCode;
        var originalPath = HttpContext.Features.Get<IStatusCodeReExecuteFeature>()?.OriginalPath
            ?? HttpContext.Features.Get<IExceptionHandlerPathFeature>()?.Path ?? "";
        if (originalPath.StartsWith("/api", StringComparison.Ordinal))
        {
            return new ContentResult
            {
                StatusCode = Code == 0 ? 500 : Code,
                ContentType = "application/problem+json",
                Content = System.Text.Json.JsonSerializer.Serialize(new Dictionary<string, object>
                {
                    ["type"] = $"https://httpstatuses.io/{(Code == 0 ? 500 : Code)}", ["title"] = $"Error {(Code == 0 ? 500 : Code)}",
                    ["status"] = Code == 0 ? 500 : Code, ["detail"] = Message,
                }),
            };
        }
        return Page();
    }

    public IActionResult OnPost(int? code) => OnGet(code);

    // The API has PATCH and DELETE routes: their errors re-execute here too, and must get the problem+json body.
    public IActionResult OnPatch(int? code) => OnGet(code);
    public IActionResult OnDelete(int? code) => OnGet(code);
    public IActionResult OnPut(int? code) => OnGet(code);
}
