using System.Security.Cryptography;
using Htmx;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;
using VpsPanel.Features.Auth;
using VpsPanel.Features.Data;
using VpsPanel.Features.Deployments;
using VpsPanel.Features.Projects;

namespace VpsPanel.Features.Terminal;

/// <summary>
/// /projects/{id}/terminal: a shell in the project's live container, in the browser (xterm.js, wwwroot/js/terminal.js)
/// over <see cref="TerminalSocket"/>. Owners and admins only, like the project itself (others get 404).
/// </summary>
public sealed class TerminalModel(Db db) : PageModel
{
    public ProjectRow? Project { get; private set; }
    public DeploymentRow? Live { get; private set; }
    /// <summary>xterm.js adds &lt;style&gt; elements for its cell sizes and colours; this page's CSP lets in only those carrying this nonce.</summary>
    public string StyleNonce { get; } = Convert.ToBase64String(RandomNumberGenerator.GetBytes(16));

    public IActionResult OnGet(long id)
    {
        using var c = db.Open();
        Project = ProjectStore.FindProjectVisibleTo(c, id, User.UserId(), User.IsAdmin());
        if (Project is null) return NotFound();
        Live = DeployStore.FindLiveDeployment(c, id);
        // Reached by a boosted navigation (a sign-in that returns here, a boosted link): htmx would swap the body
        // without running its scripts and under the previous page's CSP. A full load instead.
        if (Request.IsHtmx()) { Response.Htmx(h => h.Redirect($"/projects/{id}/terminal")); return new NoContentResult(); }
        HttpContext.Items[Shared.SecurityHeaders.StyleNonceKey] = StyleNonce;
        return Page();
    }

    /// <summary>Whether the project has a container to open a shell in (the project page shows the link only then).</summary>
    public static bool HasLiveContainer(DeploymentRow? live) => live is { IsStatic: false, ContainerName: not null };
}
