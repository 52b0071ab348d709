using System.Text.RegularExpressions;
using VpsPanel.Features.Docker;
using VpsPanel.Features.Settings;

namespace VpsPanel.Features.Volumes;

/// <summary>One volume as asked for (page form or API body), before it is judged.</summary>
public sealed record VolumeInput(string Name, string MountPath, string? HostPath);

/// <summary>
/// The rules for a project's volumes. Every value here reaches Docker as a mount, and a host path is a directory of
/// the server an app then reads and writes as root: the rules are strict and say what to type instead. Each returns a
/// message or null.
/// </summary>
public static partial class VolumeRules
{
    public const int MaxVolumesPerProject = 20;

    // Docker's volume names allow [a-zA-Z0-9][a-zA-Z0-9_.-]*; lower case only, so "Data" and "data" are not two volumes.
    [GeneratedRegex(@"^[a-z0-9][a-z0-9_.-]{0,39}\z")]
    private static partial Regex NamePattern();

    // Plain path characters only: no ':' or ',' (Docker's -v and --mount syntaxes), no spaces or control characters.
    [GeneratedRegex(@"^(/[A-Za-z0-9._@+-]+)+\z")]
    private static partial Regex PathPattern();

    /// <summary>Container paths an app may not cover with a volume: the kernel's and the devices'.</summary>
    static readonly string[] KernelDirs = ["/proc", "/sys", "/dev"];

    /// <summary>Host paths no app may get, wherever the root is (the root is checked against them too).</summary>
    static readonly string[] ForbiddenHostDirs = ["/etc", "/proc", "/sys", "/dev", "/boot", "/root", "/var/lib/docker", "/run/docker", "/var/run/docker"];

    public static string? NameProblem(string name) =>
        name == "" ? "Enter a volume name."
        : NamePattern().IsMatch(name) ? null
        : $"The volume name \"{Shown(name)}\" is not valid: use lower-case letters, digits, '.', '_' and '-', starting with a letter or digit, at most 40 characters (e.g. data).";

    public static string? MountPathProblem(string path)
    {
        if (path == "") return "Enter the path inside the container, e.g. /data.";
        if (!path.StartsWith('/')) return $"The mount path \"{Shown(path)}\" must be absolute (start with /), e.g. /data.";
        if (path == "/") return "The mount path cannot be / (the whole container); choose a directory such as /data.";
        if (path.Split('/').Any(s => s is ".." or ".")) return $"The mount path \"{Shown(path)}\" may not contain \".\" or \"..\" segments.";
        if (path.Length > 200 || !PathPattern().IsMatch(path.TrimEnd('/')))
            return $"The mount path \"{Shown(path)}\" may contain letters, digits and . _ @ + - between slashes only, at most 200 characters.";
        var p = path.TrimEnd('/');
        if (KernelDirs.FirstOrDefault(k => p == k || p.StartsWith(k + "/", StringComparison.Ordinal)) is { } k2)
            return $"The mount path \"{Shown(path)}\" is under {k2}, which the kernel provides inside every container; choose another directory.";
        return null;
    }

    /// <summary>
    /// The problem with <paramref name="root"/> as Storage:HostPathRoot, or null. Checked at startup: a root of / or
    /// /etc would let an admin's typo hand the server to an app.
    /// </summary>
    public static string? RootProblem(string root)
    {
        if (!root.StartsWith('/')) return "it must be an absolute path";
        if (root.Split('/').Any(s => s is ".." or ".")) return "it may not contain \".\" or \"..\" segments";
        var r = root.TrimEnd('/');
        if (r == "") return "it cannot be / (the whole server)";
        if (!PathPattern().IsMatch(r)) return "it may contain letters, digits and . _ @ + - between slashes only";
        if (ForbiddenHostDirs.FirstOrDefault(f => r == f || r.StartsWith(f + "/", StringComparison.Ordinal) || f.StartsWith(r + "/", StringComparison.Ordinal)) is { } bad)
            return $"it may not be, hold or lie in {bad}";
        return null;
    }

    /// <summary>The root must neither hold the panel's data dir nor lie in it (an app would read the database and the key ring).</summary>
    public static string? RootAgainstDataDir(string root, string dataDir)
    {
        var r = Path.GetFullPath(root).TrimEnd('/');
        var d = Path.GetFullPath(dataDir).TrimEnd('/');
        return Inside(d, r) || Inside(r, d) ? $"it may neither hold nor lie in the panel's data dir {d}" : null;
    }

    /// <summary>
    /// Judges a host path an admin asked for. The text must be an absolute path under the root with no "." or ".."
    /// segments; then the real path of its longest existing part (every symbolic link followed, libc realpath) with
    /// the rest appended must still be under the real root, and neither the text nor the resolved path may be the
    /// Docker socket, the data dir or a system directory. A path that does not exist yet is made at deploy, under the
    /// root (so a link planted later is caught by the same check then).
    /// </summary>
    public static string? HostPathProblem(string hostPath, PanelSettings settings)
    {
        var root = settings.HostPathRoot.TrimEnd('/');
        if (hostPath == "") return "Enter the host directory, or leave the field out for a Docker volume.";
        if (!hostPath.StartsWith('/')) return $"The host path \"{Shown(hostPath)}\" must be absolute (start with /).";
        if (hostPath.Split('/').Any(s => s is ".." or ".")) return $"The host path \"{Shown(hostPath)}\" may not contain \".\" or \"..\" segments.";
        var p = hostPath.TrimEnd('/');
        if (p == "") return "The host path cannot be / (the whole server).";
        if (p.Length > 400 || !PathPattern().IsMatch(p)) return $"The host path \"{Shown(hostPath)}\" may contain letters, digits and . _ @ + - between slashes only, at most 400 characters.";
        if (Forbidden(p, settings) is { } f) return $"The host path \"{p}\" is refused: {f}.";
        if (!Inside(p, root)) return $"The host path \"{p}\" is outside the allowed root {root} (setting Storage:HostPathRoot); host directories can only be mounted from under it.";
        if (p == root) return $"The host path cannot be the root {root} itself; use a directory under it, e.g. {root}/myapp.";
        var realRoot = Resolve(root);
        var real = Resolve(p);
        if (!Inside(real, realRoot) || real == realRoot)
            return $"The host path \"{p}\" leads outside the allowed root {root} through a symbolic link; host directories can only be mounted from under it.";
        if (Forbidden(real, settings) is { } f2) return $"The host path \"{p}\" is refused: it resolves to a place where {f2}.";
        return null;
    }

    /// <summary>Why a host path (text or resolved) is never allowed, or null.</summary>
    static string? Forbidden(string p, PanelSettings settings)
    {
        string[] sockets = ["/var/run/docker.sock", "/run/docker.sock", settings.DockerSocket];
        if (sockets.Any(s => Inside(s, p))) return "it is or holds the Docker socket (an app with it controls the whole server)";
        var data = Path.GetFullPath(settings.DataDir).TrimEnd('/');
        var realData = Docker.BuildContext.RealPath(data) ?? data;
        if (Inside(p, data) || Inside(data, p) || Inside(p, realData) || Inside(realData, p)) return "it is, holds or lies in the panel's data dir";
        if (ForbiddenHostDirs.FirstOrDefault(f => Inside(p, f)) is { } sys) return $"it lies in {sys}, a system directory";
        return null;
    }

    /// <summary>
    /// The real path of <paramref name="path"/>: the longest part of it that exists, resolved by realpath, with the
    /// parts that do not exist yet appended as typed (they hold no links, since they do not exist).
    /// </summary>
    public static string Resolve(string path)
    {
        var rest = new Stack<string>();
        var existing = path.TrimEnd('/');
        while (existing != "")
        {
            if (BuildContext.RealPath(existing) is { } real)
                return rest.Aggregate(real.TrimEnd('/'), (acc, part) => acc + "/" + part) is var r && r == "" ? "/" : r;
            rest.Push(Path.GetFileName(existing));
            existing = Path.GetDirectoryName(existing) is { } parent && parent != "/" ? parent : "";
        }
        var joined = "/" + string.Join('/', rest);
        return BuildContext.RealPath("/") is { } rootReal && rootReal != "/" ? rootReal + joined : joined;
    }

    static bool Inside(string path, string dir) => path == dir || path.StartsWith(dir.TrimEnd('/') + "/", StringComparison.Ordinal);

    /// <summary>A value as quoted back: short, one line.</summary>
    static string Shown(string v) => (v.Length > 60 ? v[..60] + "…" : v).ReplaceLineEndings(" ");

    /// <summary>
    /// Judges a whole list (what PUT sends, or the page's list with one added). Errors come back keyed
    /// "volumes[i].field"; a member giving a host path is refused, whatever it says.
    /// </summary>
    public static Dictionary<string, string> Validate(IReadOnlyList<VolumeInput> list, bool isAdmin, PanelSettings settings, IReadOnlyList<VolumeInput>? saved = null)
    {
        var errors = new Dictionary<string, string>();
        if (list.Count > MaxVolumesPerProject) errors["volumes"] = $"A project can have at most {MaxVolumesPerProject} volumes.";
        var names = new HashSet<string>();
        var paths = new HashSet<string>();
        for (var i = 0; i < list.Count; i++)
        {
            var v = list[i];
            var key = $"volumes[{i}]";
            if (NameProblem(v.Name) is { } n) errors[key + ".name"] = n;
            else if (!names.Add(v.Name)) errors[key + ".name"] = $"The volume name \"{v.Name}\" is used twice; each volume of a project needs its own name.";
            if (MountPathProblem(v.MountPath) is { } m) errors[key + ".mountPath"] = m;
            else if (!paths.Add(v.MountPath.TrimEnd('/'))) errors[key + ".mountPath"] = $"The mount path \"{v.MountPath}\" is used twice; each volume needs its own directory in the container.";
            // A member may keep what an admin set (the page and PUT send the whole list back), unchanged.
            if (v.HostPath is { } h && !(!isAdmin && saved is not null && saved.Contains(v)))
            {
                if (!isAdmin) errors[key + ".hostPath"] = "Only an admin can mount a directory of the host; leave hostPath out to get a Docker volume.";
                else if (HostPathProblem(h, settings) is { } hp) errors[key + ".hostPath"] = hp;
            }
        }
        return errors;
    }
}
