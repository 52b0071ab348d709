namespace VpsPanel.Tests.Harness;

/// <summary>
/// A Debian 12 image with Node and npm, Python 3 and Go (Debian's packages), made here since nothing can be pulled:
/// debootstrap (minbase) into a cached rootfs, then `docker import`. Generated Dockerfiles are built on it by pointing
/// Build:BaseImages:Node, :Python, :Go and :GoRuntime at it (<see cref="Settings"/>). Like <see cref="TestDebian"/>,
/// the rootfs and the image are kept (labelled with <see cref="TestDebian.CacheLabel"/>, so sweeps of test images
/// keep it) and one test process at a time builds them (flock on a lock file of its own).
/// </summary>
public static class TestStacks
{
    // First: the cached rootfs and image are named after the package list, so changing it builds them again.
    static readonly string PackagesKey = Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(Packages + "+" + AptPackages)))[..8].ToLowerInvariant();
    public static readonly string Image = $"vpspanel-test/stacks:bookworm-{PackagesKey}";
    /// <summary>The same with this machine's Caddy binary (Debian's, which Debian's libraries in the image satisfy): Build:BaseImages:Static.</summary>
    public static readonly string StaticImage = $"vpspanel-test/stacks-caddy:bookworm-{PackagesKey}";
    static readonly string RootFs = Path.Combine(TestDebian.CacheDir, $"stacks-rootfs-{PackagesKey}");
    static readonly string RootFsComplete = RootFs + ".complete";
    const string Packages = "nodejs,python3,golang-go";
    // Debian's nodejs has no npm, and the generated Node Dockerfile runs npm ci, npm run build and npm start. npm is
    // installed afterwards with apt-get in the rootfs: debootstrap's own resolver leaves npm's node-* dependencies
    // unconfigured ("node-npm-normalize-package-bin is not installed").
    const string AptPackages = "npm";
    static readonly SemaphoreSlim Gate = new(1, 1);

    /// <summary>The panel settings that make generated Dockerfiles build FROM the local image.</summary>
    public static Dictionary<string, string> Settings => new()
    {
        ["Build__BaseImages__Static"] = StaticImage, ["Build__BaseImages__Node"] = Image, ["Build__BaseImages__Python"] = Image, ["Build__BaseImages__Go"] = Image, ["Build__BaseImages__GoRuntime"] = Image,
    };

    public static async Task EnsureImageAsync()
    {
        await Gate.WaitAsync();
        try
        {
            if ((await TestDebian.RunAsync("docker", ["image", "inspect", Image, StaticImage])).ExitCode == 0) return;
            Directory.CreateDirectory(TestDebian.CacheDir);
            // Another test process may be building it: wait for its lock (flock, like `flock FILE cmd`), then look again.
            var r = await TestDebian.RunAsync("flock", ["--exclusive", Path.Combine(TestDebian.CacheDir, ".stacks.lock"), "bash", "-c",
                """
                set -euo pipefail
                rootfs="$1"; image="$2"; label="$3"; packages="$4"; apt="$5"; static="$6"
                if docker image inspect "$image" "$static" >/dev/null 2>&1; then exit 0; fi
                if [ ! -e "$rootfs.complete" ]; then
                  rm -rf "$rootfs"
                  debootstrap --variant=minbase --include="$packages" bookworm "$rootfs" http://deb.debian.org/debian
                  chroot "$rootfs" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $apt
                  chroot "$rootfs" apt-get clean
                  date -u +%FT%TZ > "$rootfs.complete"
                fi
                docker image inspect "$image" >/dev/null 2>&1 || tar -C "$rootfs" -c . | docker import --change "LABEL $label=debian-bookworm-stacks" - "$image"
                ctx=$(mktemp -d); trap 'rm -rf "$ctx"' EXIT
                cp /usr/bin/caddy "$ctx/caddy"
                printf 'FROM %s\nCOPY caddy /usr/bin/caddy\nRUN mkdir -p /etc/caddy /srv\nLABEL %s=debian-bookworm-stacks-caddy\n' "$image" "$label" > "$ctx/Dockerfile"
                DOCKER_BUILDKIT=0 /usr/bin/docker build -q -t "$static" "$ctx"
                """, "stacks", RootFs, Image, TestDebian.CacheLabel, Packages, AptPackages, StaticImage], timeout: TimeSpan.FromMinutes(30));
            if (r.ExitCode != 0) throw new InvalidOperationException($"making {Image} failed ({r.ExitCode}):\n{Tail(r.Stdout)}\n{Tail(r.Stderr)}");
        }
        finally { Gate.Release(); }
    }

    static string Tail(string s) => s.Length > 3000 ? s[^3000..] : s;
}
