using Microsoft.Data.Sqlite;
using VpsPanel.Features.Git;
using VpsPanel.Features.Projects;
using VpsPanel.Features.Settings;

namespace VpsPanel.Features.Builds;

/// <summary>
/// The project page's Dockerfile section: what the next build uses (source, stack, reasons, the file), "Save as
/// override" for a generated one, editing and removing a saved one. The handlers live on the project page
/// (Projects/Show) and call these.
/// </summary>
public sealed record DockerfileSection(long ProjectId, ResolvedDockerfile? Resolved, string? Problem, string? Error, string? Typed)
{
    /// <summary>With the saved Dockerfile (or null) already read (the project page keeps it with its cached data).</summary>
    public static DockerfileSection Load(string? saved, GitCli git, PanelSettings settings, ProjectRow project)
    {
        var (r, problem, _) = ProjectDockerfile.ForBranchHead(saved, git, settings, project);
        return new DockerfileSection(project.Id, r, problem, null, null);
    }

    /// <summary>
    /// Saves the override: the text typed (editing a saved one), or with none the Dockerfile generated for the branch
    /// head now (never one the browser sends back as "generated"). Returns the audit detail, or a problem for the page.
    /// </summary>
    public static (string? Detail, string? Problem) Save(SqliteConnection c, GitCli git, PanelSettings settings, ProjectRow project, string? typed)
    {
        if (typed is not null)
        {
            var text = typed.Replace("\r\n", "\n");
            if (ProjectDockerfile.OverrideProblem(text) is { } p) return (null, p);
            if (!text.EndsWith('\n')) text += "\n";
            ProjectDockerfile.UpdateDockerfileOverride(c, project.Id, text);
            return ($"edited ({text.Length} characters)", null);
        }
        var (r, problem, _) = ProjectDockerfile.ForBranchHead(c, git, settings, project);
        if (r is null) return (null, problem);
        if (r.Source == "override") return (null, "A Dockerfile is saved already; edit it below, or remove it first.");
        if (r.Source == ProjectDockerfile.Static) return (null, "This project is a plain static site: Caddy serves its files and no Dockerfile is used, so there is none to save.");
        ProjectDockerfile.UpdateDockerfileOverride(c, project.Id, r.Dockerfile);
        return ($"saved the {r.Source} Dockerfile" + (r.Stack is { } s ? $" ({s})" : ""), null);
    }
}
