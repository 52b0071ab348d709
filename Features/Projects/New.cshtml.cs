using Microsoft.AspNetCore.DataProtection;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;
using VpsPanel.Features.Auth;
using VpsPanel.Features.Data;
using VpsPanel.Features.Git;

namespace VpsPanel.Features.Projects;

/// <summary>/projects/new: create a project owned by the signed-in user. Nothing is cloned or built until Deploy.</summary>
public sealed class NewModel(Db db, IDataProtectionProvider protection, GitCli git) : PageModel
{
    public ProjectForm Form { get; private set; } = ProjectForm.Empty;
    public Dictionary<string, string> Errors { get; private set; } = [];

    public void OnGet() { }

    public async Task<IActionResult> OnPostAsync(CancellationToken ct)
    {
        Form = ProjectFormReader.Read(Request.Form);
        using (var c0 = db.Open())
            Errors = ProjectStore.Validate(Form, creating: true, mayUseLocalRepos: User.IsAdmin(), hasStoredToken: false,
                domainsOptional: Settings.PanelOptions.Load(c0).BaseDomain != "");
        if (!Errors.ContainsKey("branch") && await GitCli.CheckBranchWithGitAsync(Form.Branch, ct) is { } b) Errors["branch"] = b;
        if (Errors.Count > 0) return Invalid();

        var slug = ProjectStore.Slugify(Form.Name);
        var token = Form.GitAuth == "token" ? protection.CreateProtector(ProjectStore.TokenPurpose).Protect(Form.GitToken) : null;
        using var c = db.Open();
        using var tx = c.BeginTransaction();
        if (ProjectStore.SlugExists(c, slug, tx)) Errors["name"] = $"A project with the short name \"{slug}\" already exists. Choose another name.";
        // Its own domains and its default domain (from the base domain in Settings) must be nobody else's.
        var claimed = ProjectStore.ParseDomains(Form.Domains).Append(Settings.PanelOptions.Load(c, tx).DefaultDomain(slug)).OfType<string>();
        if (Domains.ProjectDomains.FindConflict(claimed, 0, Domains.ProjectDomains.ListClaims(c, tx), User.UserId(), User.IsAdmin()) is { } conflict)
            Errors["domains"] = conflict.Message;
        if (Errors.Count > 0) return Invalid();
        var id = ProjectStore.InsertProject(c, Form, slug, User.UserId(), token, tx);
        tx.Commit();
        if (Form.GitAuth == "ssh")
            ProjectStore.UpdateSshPublicKey(c, id, await git.GenerateDeployKeyAsync(id, $"vpspanel-{slug}", ct));
        return Shared.Htmx.RedirectAfterPost(HttpContext, $"/projects/{id}");
    }

    IActionResult Invalid()
    {
        Response.StatusCode = StatusCodes.Status422UnprocessableEntity;
        return Page();
    }
}
