using System.Globalization;
using Docker.DotNet.Models;

namespace VpsPanel.Features.Docker;

/// <summary>
/// What a container is to be created from. Ports are published on 127.0.0.1 only. Every container gets
/// no-new-privileges and a bounded json-file log (Docker's default log grows until the disk is full); limits of 0
/// mean none.
/// </summary>
public sealed record ContainerSpec(
    string Name, string Image, IReadOnlyDictionary<string, string> Labels,
    int? ContainerPort = null, int? HostPort = null,
    IReadOnlyList<string>? Env = null, IReadOnlyList<string>? Cmd = null,
    string RestartPolicy = "unless-stopped", long MemoryBytes = 0, bool Tty = false,
    long NanoCpus = 0, long PidsLimit = 0, int LogMaxSizeMb = 10, int LogMaxFiles = 3, IReadOnlyList<Mount>? Mounts = null, string? Network = null)
{
    /// <summary>For docker.Containers.CreateContainerAsync.</summary>
    public CreateContainerParameters Parameters()
    {
        var host = new HostConfig
        {
            RestartPolicy = new RestartPolicy { Name = RestartPolicy switch
            {
                "no" => RestartPolicyKind.No,
                "always" => RestartPolicyKind.Always,
                "on-failure" => RestartPolicyKind.OnFailure,
                _ => RestartPolicyKind.UnlessStopped,
            } },
            // setuid binaries in the image cannot gain privileges the process did not start with.
            SecurityOpt = ["no-new-privileges"],
            LogConfig = new LogConfig
            {
                Type = "json-file",
                Config = new Dictionary<string, string>
                {
                    ["max-size"] = $"{LogMaxSizeMb}m",
                    ["max-file"] = LogMaxFiles.ToString(CultureInfo.InvariantCulture),
                },
            },
        };
        if (MemoryBytes > 0)
        {
            // Swap equal to memory: no swap on top, so a leaking app is stopped by the OOM killer instead of thrashing the host.
            host.Memory = MemoryBytes;
            host.MemorySwap = MemoryBytes;
        }
        if (NanoCpus > 0) host.NanoCPUs = NanoCpus;
        if (PidsLimit > 0) host.PidsLimit = PidsLimit;
        // The project's volumes and host directories (Volumes/ProjectVolumes).
        if (Mounts is { Count: > 0 }) host.Mounts = Mounts.ToList();
        // A project's own network (Docker/ProjectNetwork), else the engine's default bridge.
        if (Network is not null) host.NetworkMode = Network;
        var p = new CreateContainerParameters
        {
            Name = Name,
            Image = Image,
            Labels = Labels.ToDictionary(),
            HostConfig = host,
            Tty = Tty,
        };
        if (Env is not null) p.Env = Env.ToList();
        if (Cmd is not null) p.Cmd = Cmd.ToList();
        if (ContainerPort is { } cp)
        {
            p.ExposedPorts = new Dictionary<string, EmptyStruct> { [$"{cp}/tcp"] = default };
            host.PortBindings = new Dictionary<string, IList<PortBinding>>
            {
                [$"{cp}/tcp"] = [new PortBinding { HostIP = "127.0.0.1", HostPort = HostPort?.ToString(CultureInfo.InvariantCulture) ?? "" }],
            };
        }
        return p;
    }
}
