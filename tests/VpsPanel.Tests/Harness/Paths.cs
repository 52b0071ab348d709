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
    static readonly HashSet<int> HandedOut = [];

    /// <summary>
    /// A loopback port nobody listens on now, and never one this test process handed out before: the kernel can give
    /// a just-released port to the next asker, and two parallel tests then bound the same port (one test's Caddy HTTP
    /// port was another's admin port, which answered "HTTP 403" to a request for an app).
    /// </summary>
    public static int FreePort()
    {
        while (true)
        {
            using var l = new TcpListener(IPAddress.Loopback, 0);
            l.Start();
            var port = ((IPEndPoint)l.LocalEndpoint).Port;
            lock (HandedOut)
                if (HandedOut.Add(port)) return port;
        }
    }

    public static void DeleteQuietly(string dir)
    {
        try { if (Directory.Exists(dir)) Directory.Delete(dir, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }
}
