using System.Text;
using Docker.DotNet.Models;
using Microsoft.AspNetCore.DataProtection;
using VpsPanel.Features.Data;
using VpsPanel.Features.Docker;
using VpsPanel.Features.Settings;

namespace VpsPanel.Features.Services;

/// <summary>
/// Restores a dump into a service: pg_restore --clean --if-exists in one transaction, the SQL through mariadb, or for
/// Redis: stop, replace dump.rdb (and the append-only file, which Redis would load instead) in the volume, start.
/// A dump may come from another service of the same engine (the way to move data to a new major version); a dump of
/// another engine is refused, told by its first bytes, before anything is touched.
/// </summary>
public static class RestoreDump
{
    /// <summary>The engine a dump file was made by, from its first bytes; null when none of ours.</summary>
    public static string? EngineOfFile(string path)
    {
        var head = new byte[16];
        int n;
        using (var f = File.OpenRead(path)) n = f.ReadAtLeast(head, head.Length, throwOnEndOfStream: false);
        var text = Encoding.ASCII.GetString(head, 0, n);
        if (text.StartsWith("PGDMP", StringComparison.Ordinal)) return "postgres";
        if (text.StartsWith("REDIS", StringComparison.Ordinal)) return "redis";
        // mariadb-dump starts with its banner comment, or (11.x and late 10.x) with the sandbox-mode line /*M!999999…*/.
        if (text.StartsWith("-- MariaDB dump", StringComparison.Ordinal) || text.StartsWith("-- MySQL dump", StringComparison.Ordinal) || text.StartsWith("/*", StringComparison.Ordinal))
            return "mariadb";
        return null;
    }

    /// <summary>Null when restored, else why not (nothing was changed when the dump was refused).</summary>
    public static async Task<string?> RunAsync(Db db, DockerEngine engine, IDataProtectionProvider protection, PanelSettings settings, ServiceRow s, DumpRow dump, CancellationToken ct)
    {
        if (dump.Status != "ok" || dump.File is null) return $"dump {dump.Id} has no file (it {(dump.Status == "pruned" ? "was deleted by the retention" : dump.Status == "running" ? "is still being made" : "failed")})";
        var path = Path.Combine(ServiceDumps.Dir(settings, dump.ServiceName), dump.File);
        if (!File.Exists(path)) return $"the file of dump {dump.Id} ({path}) is gone";
        var fileEngine = EngineOfFile(path);
        var target = ServiceEngines.Find(s.Engine)!;
        if (fileEngine != s.Engine)
            return $"dump {dump.Id} is {(ServiceEngines.Find(fileEngine) is { } fe ? "a " + fe.Label + " dump" : "not a dump the panel knows")}; " +
                   $"{s.Name} is {target.Label}, so it cannot be restored there. Nothing was changed.";

        var gate = ServiceDumps.Gate(s.Id);
        await gate.WaitAsync(ct);
        try
        {
            string panel;
            using (var c = db.Open()) panel = PanelIdentity.Of(c);
            var container = ServiceContainer.ContainerName(panel, s.Name);
            var password = ServiceStore.Password(protection, s);
            var name = ServiceEngines.DatabaseName(s.Name);
            var docker = await engine.ClientAsync(ct);
            if (s.Engine == "redis") return await RestoreRedisAsync(db, docker, panel, s, path, ct);
            if (await docker.InspectContainerOrNullAsync(container, ct) is not { State.Running: true })
                return $"{s.Name} is not running: start it, then restore";
            await using var input = File.OpenRead(path);
            var (exit, err) = s.Engine == "postgres"
                ? await ServiceDumps.ExecAsync(docker, container,
                    // --no-owner: a dump of another service names another owner; here everything belongs to this service's user.
                    ["pg_restore", "--clean", "--if-exists", "--no-owner", "--no-privileges", "--single-transaction", "--exit-on-error", "-U", name, "-d", name],
                    [$"PGPASSWORD={password}"], null, input, ct)
                : await ServiceDumps.ExecAsync(docker, container, ["mariadb", "-u", name, name], [$"MYSQL_PWD={password}"], null, input, ct);
            return exit == 0 ? null : $"{(s.Engine == "postgres" ? "pg_restore" : "mariadb")} exited with {exit}: {err.Trim()}";
        }
        catch (Exception e) when (DockerEngine.IsDockerError(e)) { return DockerErrors.Readable(e); }
        finally { gate.Release(); }
    }

    // With --appendonly yes Redis loads its append-only file, not dump.rdb. So the restored RDB also becomes the AOF's
    // base, named by a fresh manifest (Redis 7's multi-part AOF: an RDB base is allowed), and the old AOF goes.
    const string RedisSwap =
        "set -e; cd /data; cat > .vpspanel-restore.rdb; owner=$(stat -c %u:%g .); rm -rf appendonlydir appendonly.aof; mkdir appendonlydir; " +
        "mv .vpspanel-restore.rdb dump.rdb; cp dump.rdb appendonlydir/appendonly.aof.1.base.rdb; " +
        "printf 'file appendonly.aof.1.base.rdb seq 1 type b\\n' > appendonlydir/appendonly.aof.manifest; chown -R \"$owner\" dump.rdb appendonlydir";

    /// <summary>
    /// Stop, swap the files in the volume from a helper container of the service's own image (nothing to pull, and it
    /// has the shell tools Redis's image has), start again if it was running.
    /// </summary>
    static async Task<string?> RestoreRedisAsync(Db db, global::Docker.DotNet.DockerClient docker, string panel, ServiceRow s, string path, CancellationToken ct)
    {
        var container = ServiceContainer.ContainerName(panel, s.Name);
        var helper = container + "-restore";
        await ServiceLock.Gate.WaitAsync(ct);
        try
        {
            if (await docker.InspectContainerOrNullAsync(container, ct) is not { } ctr) return $"the container of {s.Name} is missing";
            var wasRunning = ctr.State?.Running == true;
            if (wasRunning) await docker.Containers.StopContainerAsync(container, new ContainerStopParameters { WaitBeforeKillSeconds = 30 }, ct);
            string? problem = null;
            try
            {
                await docker.RemoveContainerIfExistsAsync(helper, ct);
                await docker.Containers.CreateContainerAsync(new CreateContainerParameters
                {
                    Name = helper, Image = s.Image, User = "root", Entrypoint = ["sleep", "3600"], Cmd = [],
                    Labels = new Dictionary<string, string> { [PanelIdentity.Label] = panel, [ServiceContainer.ServiceLabel] = s.Name },
                    NetworkDisabled = true,
                    HostConfig = new HostConfig
                    {
                        NetworkMode = "none",
                        Mounts = [new Mount { Type = "volume", Source = ServiceContainer.VolumeName(panel, s.Name), Target = "/data" }],
                    },
                }, ct);
                await docker.Containers.StartContainerAsync(helper, null, ct);
                await using var input = File.OpenRead(path);
                var (exit, err) = await ServiceDumps.ExecAsync(docker, helper, ["sh", "-c", RedisSwap], [], null, input, ct);
                if (exit != 0) problem = $"replacing dump.rdb in the volume exited with {exit}: {err.Trim()}";
            }
            finally
            {
                await docker.RemoveContainerIfExistsAsync(helper, CancellationToken.None);
                if (wasRunning) await docker.Containers.StartContainerAsync(container, null, CancellationToken.None);
            }
            return problem;
        }
        finally { ServiceLock.Gate.Release(); }
    }
}
