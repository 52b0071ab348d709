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
            StopOldFirst = f.ContainsKey("stopOldFirst") ? f["stopOldFirst"].Contains("true") : null,
            // Only admins get these fields; a form without them keeps the saved limits.
            MemoryMb = f.ContainsKey("memoryMb") ? V("memoryMb") : null,
            Cpus = f.ContainsKey("cpus") ? V("cpus") : null,
            PidsLimit = f.ContainsKey("pidsLimit") ? V("pidsLimit") : null,
            Replicas = f.ContainsKey("replicas") ? V("replicas") : null,
            Target = f.ContainsKey("target") ? V("target") : null,
            Placement = f.ContainsKey("placement") ? V("placement") : null,
            BaseDir = f.ContainsKey("baseDir") ? V("baseDir") : null,
            WatchPaths = f.ContainsKey("watchPaths") ? f["watchPaths"].ToString() : null,
            BuildTarget = f.ContainsKey("buildTarget") ? V("buildTarget") : null,
            InstallCommand = f.ContainsKey("installCommand") ? V("installCommand") : null,
            BuildCommand = f.ContainsKey("buildCommand") ? V("buildCommand") : null,
            StartCommand = f.ContainsKey("startCommand") ? V("startCommand") : null,
        };
    }

    public static ProjectForm FromProject(ProjectRow p) =>
        new(p.Name, p.GitUrl, p.Branch, p.DockerfilePath, p.ContextDir, p.ContainerPort == 0 ? "" : p.ContainerPort.ToString(), p.HealthPath,
            string.Join('\n', p.Domains), p.GitAuth, "")
        { MemoryMb = p.Limits.MemoryText, Cpus = p.Limits.CpusText, PidsLimit = p.Limits.PidsText, BaseDir = p.Paths.BaseDir ?? "", WatchPaths = p.Paths.WatchPaths ?? "", BuildTarget = p.BuildTarget ?? "",
            InstallCommand = p.Commands.Install ?? "", BuildCommand = p.Commands.Build ?? "", StartCommand = p.Commands.Start ?? "" };
}

/// <summary>What the shared form fields partial needs: the values, the messages, and which form it is in.</summary>
public sealed record ProjectFieldsView(ProjectForm Form, Dictionary<string, string> Errors, bool Creating, bool HasStoredToken);
