using System.Globalization;
using Dapper;
using Docker.DotNet;
using Docker.DotNet.Models;
using Microsoft.Data.Sqlite;
using VpsPanel.Features.Docker;
using VpsPanel.Features.Git;

namespace VpsPanel.Features.Deployments;

/// <summary>
/// What the built image says about itself, read once after the build (image inspect): the TCP ports it EXPOSEs and
/// its own HEALTHCHECK. The port and health check a project left empty are taken from here (0016_detect_defaults.sql).
/// </summary>
public sealed record ImageFacts(IReadOnlyList<int> TcpPorts, IReadOnlyList<string> ExposedPorts, HealthcheckConfig? Healthcheck)
{
    public static async Task<ImageFacts> ReadAsync(DockerClient docker, string image, CancellationToken ct)
    {
        var config = (await docker.Images.InspectImageAsync(image, ct)).Config;
        var exposed = config?.ExposedPorts?.Keys.OrderBy(k => k, StringComparer.Ordinal).ToList() ?? [];
        var tcp = exposed.Select(TcpPortOf).OfType<int>().Order().ToList();
        return new ImageFacts(tcp, exposed, Own(config?.Healthcheck));
    }

    /// <summary>An image's (or its container's) own HEALTHCHECK, or null: none, or ["NONE"], how a Dockerfile switches off one inherited from its base image.</summary>
    public static HealthcheckConfig? Own(HealthcheckConfig? hc) => hc is { Test: { Count: > 0 } test } && test[0] != "NONE" ? hc : null;

    /// <summary>"8080/tcp" or "8080" (Docker's default protocol is tcp) → 8080; a udp or sctp port, or junk → null.</summary>
    public static int? TcpPortOf(string exposed)
    {
        var parts = exposed.Split('/');
        if (parts.Length > 2 || (parts.Length == 2 && parts[1] != "tcp")) return null;
        return int.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out var p) && p is >= 1 and <= 65535 ? p : null;
    }

    /// <summary>What the image exposes, for messages: "8080/tcp, 53/udp", or "no ports (no EXPOSE)".</summary>
    public string Describe() => ExposedPorts.Count == 0 ? "no ports (no EXPOSE in the Dockerfile)" : string.Join(", ", ExposedPorts);

    /// <summary>
    /// The container port: the project's own when it set one; else the image's lowest EXPOSEd TCP port; else the
    /// framework default a generated Dockerfile knows (<paramref name="fallbackPort"/>, from the no-Dockerfile
    /// detector; null otherwise); else the deploy fails asking for the port. The log says which and why.
    /// </summary>
    public int ContainerPort(int configured, int? fallbackPort, Action<string> log)
    {
        if (configured > 0)
        {
            log($"container port {configured} (set on the project); the image exposes {Describe()}");
            return configured;
        }
        if (TcpPorts.Count > 0)
        {
            log($"container port {TcpPorts[0]}: the image's lowest exposed TCP port (it exposes {Describe()}); set a port on the project to choose another");
            return TcpPorts[0];
        }
        if (fallbackPort is { } f)
        {
            log($"container port {f}: the framework's default (the image exposes {Describe()})");
            return f;
        }
        throw new DeployFailure($"the container port is not set and the image exposes no TCP port (it exposes {Describe()}): " +
            "enter the port the app listens on in the project's settings, or add EXPOSE <port> to the Dockerfile");
    }
}

/// <summary>The branch and the environment a deploy detects when the project left them empty.</summary>
public static class DeployDetect
{
    /// <summary>
    /// The branch to deploy: the project's, or when it left it empty, the repository's default branch, asked now. The
    /// name found is kept on the project for the push webhook (projects.default_branch).
    /// </summary>
    public static async Task<string> BranchAsync(SqliteConnection c, GitCli git, long projectId, string branch, string url, GitAuth auth,
        Action<string> log, CancellationToken ct)
    {
        if (branch != "") return branch;
        var found = await git.DefaultBranchAsync(url, auth, ct);
        c.Execute("UPDATE projects SET default_branch = @found WHERE id = @projectId", new { found, projectId });
        log($"branch: {found}, the repository's default branch (the project's branch is empty)");
        return found;
    }

    /// <summary>
    /// The app is told its port as PORT (the convention of Heroku-style buildpacks and most frameworks). A PORT the
    /// project set among its variables is the member's choice and stays.
    /// </summary>
    public static List<string> WithPort(List<string> env, int containerPort, Action<string> log)
    {
        if (env.Any(e => e.StartsWith("PORT=", StringComparison.Ordinal)))
        {
            log($"PORT is set by the project's variables; the panel's PORT={containerPort} is not added");
            return env;
        }
        return [.. env, $"PORT={containerPort}"];
    }
}
