namespace VpsPanel.Features.Projects;

/// <summary>Reading the project form from a POST (trimmed; a missing field is empty, never null).</summary>
public static class ProjectFormReader
{
    public static ProjectForm Read(IFormCollection f)
    {
        string V(string k) => (f[k].ToString() ?? "").Trim();
        return new ProjectForm(V("name"), V("gitUrl"), V("branch"), V("dockerfilePath"), V("contextDir"), V("containerPort"),
            V("healthPath"), f["domains"].ToString() ?? "", V("gitAuth"), V("gitToken"))
        {
            // The checkbox posts "true" when ticked, beside a hidden "false"; a post without the field at all keeps the default (on).
            AutoDeploy = f["autoDeploy"].Count == 0 || f["autoDeploy"].Contains("true"),
            // Only admins get these fields; a form without them keeps the saved limits.
            MemoryMb = f.ContainsKey("memoryMb") ? V("memoryMb") : null,
            Cpus = f.ContainsKey("cpus") ? V("cpus") : null,
            PidsLimit = f.ContainsKey("pidsLimit") ? V("pidsLimit") : null,
        };
    }

    public static ProjectForm FromProject(ProjectRow p) =>
        new(p.Name, p.GitUrl, p.Branch, p.DockerfilePath, p.ContextDir, p.ContainerPort.ToString(), p.HealthPath,
            string.Join('\n', p.Domains), p.GitAuth, "")
        { MemoryMb = p.Limits.MemoryText, Cpus = p.Limits.CpusText, PidsLimit = p.Limits.PidsText };
}

/// <summary>What the shared form fields partial needs: the values, the messages, and which form it is in.</summary>
public sealed record ProjectFieldsView(ProjectForm Form, Dictionary<string, string> Errors, bool Creating, bool HasStoredToken);
