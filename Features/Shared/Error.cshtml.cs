using Microsoft.AspNetCore.Authorization;
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
        413 => "What you sent is too large.",
        _ => "Something went wrong on the panel. The panel's log has the details.",
    };

    public void OnGet(int? code) => Code = code ?? Response.StatusCode;
    public void OnPost(int? code) => OnGet(code);
}
