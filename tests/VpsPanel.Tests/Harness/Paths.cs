using System.Net;
using System.Net.Sockets;

namespace VpsPanel.Tests.Harness;

public static class Paths
{
    /// <summary>The checkout's root (the folder with VpsPanel.csproj).</summary>
    public static string RepoRoot { get; } = FindRoot();

    /// <summary>The binary under test: the published single file, as users get it (tests/run.sh publishes it).</summary>
    public static string Binary { get; } =
        Environment.GetEnvironmentVariable("VPSPANEL_BINARY") is { Length: > 0 } b ? Path.GetFullPath(b) : Path.Combine(RepoRoot, "out", "publish", "vpspanel");

    static string FindRoot()
    {
        for (var d = new DirectoryInfo(AppContext.BaseDirectory); d is not null; d = d.Parent)
            if (File.Exists(Path.Combine(d.FullName, "VpsPanel.csproj"))) return d.FullName;
        throw new InvalidOperationException("cannot find the repository root (VpsPanel.csproj) above " + AppContext.BaseDirectory);
    }

    public static string NewTempDir(string prefix = "vpspanel-test-")
    {
        var dir = Path.Combine(Path.GetTempPath(), prefix + Guid.NewGuid().ToString("N")[..12]);
        Directory.CreateDirectory(dir);
        return dir;
    }

    /// <summary>A loopback port nobody listens on right now.</summary>
    public static int FreePort()
    {
        using var l = new TcpListener(IPAddress.Loopback, 0);
        l.Start();
        return ((IPEndPoint)l.LocalEndpoint).Port;
    }

    public static void DeleteQuietly(string dir)
    {
        try { if (Directory.Exists(dir)) Directory.Delete(dir, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }
}
