using System.Globalization;

namespace VpsPanel.Features.Settings;

/// <summary>A setting the operator got wrong; startup stops with this message and <see cref="ExitCodes.BadSetting"/>.</summary>
public sealed class SettingsException(string message) : Exception(message);

/// <summary>
/// Anything else that must stop startup (or a local CLI command) with one plain line and its own exit code, e.g. a
/// data dir that is a file, a port already taken, a schema newer than the binary. Program.cs prints it.
/// </summary>
public sealed class StartupException(string message, int exitCode = ExitCodes.DataDir) : Exception(message)
{
    public int ExitCode { get; } = exitCode;
}

/// <summary>
/// The process exit codes, one per cause (README "Exit codes"). systemd's Restart=on-failure needs anything fatal to
/// be non-zero, and a script or a person can tell "fix the setting" from "free the port" without parsing text.
/// </summary>
public static class ExitCodes
{
    /// <summary>A command failed for a reason its message gives; or an unexpected error (a bug).</summary>
    public const int Failed = 1;
    /// <summary>A setting, the settings file or the command line is invalid (including --urls).</summary>
    public const int BadSetting = 2;
    /// <summary>The data dir (Panel:DataDir) or its database cannot be used. Remote CLI commands: the panel cannot be reached.</summary>
    public const int DataDir = 3;
    /// <summary>Another vpspanel process holds the data dir.</summary>
    public const int DataDirInUse = 5;
    /// <summary>The panel cannot listen on its address (--urls / ASPNETCORE_URLS): taken, or not allowed.</summary>
    public const int Listen = 6;
    /// <summary>Caddy:SitesDir cannot be created or written.</summary>
    public const int SitesDir = 7;
    /// <summary>A path given to a CLI command cannot be used (e.g. `backup PATH`).</summary>
    public const int PathArgument = 8;
    /// <summary>The panel started, then stopped because a part of it failed (it is named on stderr).</summary>
    public const int StoppedByError = 9;
}

/// <summary>One row of the settings table: the key, its default, what is allowed, and whether it is a secret.</summary>
public sealed record Setting(string Key, string Default, string Allowed, Func<string, bool> IsValid, bool Secret = false);

/// <summary>
/// The one flat table of settings. Every key comes from standard ASP.NET configuration, so it can be set in
/// appsettings, as an environment variable (Panel__DataDir or VpsPanel__Panel__DataDir) or on the command line
/// (--Panel:DataDir=/srv/vpspanel). An empty default means "derived" (see <see cref="PanelSettings.Load"/>).
/// </summary>
public static partial class SettingsTable
{
    // The email reaches every site file (`tls <email>`), so it gets a grammar with no room for Caddyfile syntax.
    [System.Text.RegularExpressions.GeneratedRegex(@"^[A-Za-z0-9._%+-]{1,64}@[A-Za-z0-9-]{1,63}(\.[A-Za-z0-9-]{1,63})+\z")]
    private static partial System.Text.RegularExpressions.Regex AcmeEmailPattern();

    static bool Any(string _) => true;
    static bool Bool(string v) => bool.TryParse(v, out _);
    static Func<string, bool> Int(int min, int max) => v => int.TryParse(v, NumberStyles.None, CultureInfo.InvariantCulture, out var n) && n >= min && n <= max;
    static bool HttpUrl(string v) => v == "" || (Uri.TryCreate(v, UriKind.Absolute, out var u) && (u.Scheme == "http" || u.Scheme == "https") && u.PathAndQuery == "/");
    static bool AbsolutePathOrEmpty(string v) => v == "" || Path.IsPathRooted(v);
    static bool PortRange(string v) => PanelSettings.ParsePortRange(v) is not null;

    public static readonly Setting[] All =
    [
        new("Panel:DataDir", "./data", "a directory path", v => v.Trim() != ""),
        new("Panel:PublicUrl", "", "empty, or an http(s) URL with no path, e.g. https://panel.example.com", HttpUrl),
        new("Docker:Socket", "/var/run/docker.sock", "an absolute path to the Docker engine's unix socket", v => Path.IsPathRooted(v)),
        new("Caddy:AdminAddress", "http://127.0.0.1:2019", "an http URL with no path, e.g. http://127.0.0.1:2019", v => v != "" && HttpUrl(v)),
        new("Caddy:Caddyfile", "/etc/caddy/Caddyfile", "an absolute path to the main Caddyfile", v => Path.IsPathRooted(v)),
        new("Caddy:SitesDir", "", "empty (means <DataDir>/caddy/sites) or an absolute path", AbsolutePathOrEmpty),
        new("Caddy:StaticDir", "", "empty (means a static folder beside Caddy:SitesDir) or an absolute path of letters, digits and . _ - + , = @ ~ / (it is written into site files)",
            v => v == "" || Deployments.StaticSiteDeploy.IsSafeRoot(v)),
        new("Caddy:AutomaticHttps", "true", "true or false", Bool),
        new("Caddy:AcmeEmail", "", "empty, or the email address ACME certificate authorities may write to", v => v == "" || AcmeEmailPattern().IsMatch(v)),
        new("Caddy:InternalTls", "false", "true (certificates from Caddy's own local CA: tests, private networks) or false", Bool),
        new("Deploy:PortRange", "3001-9999", "FROM-TO, two ports between 1024 and 65535 with FROM < TO", PortRange),
        new("Deploy:MaxParallelBuilds", "2", "a whole number from 1 to 32", Int(1, 32)),
        new("Deploy:BuildMemoryMb", "2048", "a whole number of MiB from 64 to 1048576", Int(64, 1048576)),
        new("Build:Builder", "buildkit", "buildkit (BuildKit through the docker CLI) or classic (the engine's legacy builder, POST /build)", v => v is "buildkit" or "classic"),
        new("Docker:CgroupParent", "docker", "the engine's cgroup parent as a relative path of letters, digits and . _ - / (dockerd's --cgroup-parent or daemon.json \"cgroup-parent\"; with the cgroupfs driver BuildKit runs build steps under <it>/buildkit)",
            v => Docker.BuildMemoryCap.IsCgroupParent(v)),
        new("Build:DockerCli", "/usr/bin/docker", "an absolute path to a docker CLI that builds with BuildKit itself when DOCKER_BUILDKIT=1 (Debian's docker.io, docker-ce-cli), not one that needs the buildx plugin", v => Path.IsPathRooted(v)),
        new("Deploy:BuildTimeoutMinutes", "30", "a whole number of minutes from 1 to 1440", Int(1, 1440)),
        new("Deploy:HealthTimeoutSeconds", "5", "a whole number of seconds from 1 to 300", Int(1, 300)),
        new("Deploy:HealthRetries", "30", "a whole number from 1 to 1000", Int(1, 1000)),
        new("Deploy:DrainSeconds", "2", "a whole number of seconds from 0 to 600", Int(0, 600)),
        new("Deploy:CaddyRetrySeconds", "120", "a whole number of seconds from 0 to 3600 (how long a healthy deploy waits for an unreachable Caddy at the switch before it fails)", Int(0, 3600)),
        new("Deploy:ReconcileSeconds", "30", "a whole number of seconds from 2 to 3600 (how often live containers are checked and restarted when down, besides Docker events)", Int(2, 3600)),
        new("Health:ProbeSeconds", "30", "a whole number of seconds from 1 to 3600 (how often each live app's health path, or its image's HEALTHCHECK, is checked after its deploy)", Int(1, 3600)),
        new("Health:FailuresBeforeAlert", "3", "a whole number from 1 to 1000 (failed checks of a live app in a row before app.unhealthy is raised, once per unhealthy period)", Int(1, 1000)),
        new("Metrics:IntervalSeconds", "10", "a whole number of seconds from 1 to 3600 (how often each container's and the host's CPU, memory, network, block I/O and disk are sampled)", Int(1, 3600)),
        new("Metrics:DiskUsageMinutes", "5", "a whole number of minutes from 1 to 1440 (how often Docker's disk use, GET /system/df, is asked: it walks every image, container and volume)", Int(1, 1440)),
        new("Running:OrphanGraceSeconds", "600", "a whole number of seconds from 0 to 604800 (how long a container with this panel's id that no deployment owns is left before self-healing removes it)", Int(0, 604800)),
        new("Running:CrashLoopExits", "3", "a whole number from 2 to 1000 (exits of a live container within 10 minutes that mark its project crash looping)", Int(2, 1000)),
        new("Previews:MaxPerProject", "5", "a whole number from 1 to 100 (pull request previews one project may run at once; a new one removes the least recently updated, with a message)", Int(1, 100)),
        new("Previews:TtlHours", "168", "a whole number of hours from 1 to 8760 (a preview no push or request event updated for this long is removed)", Int(1, 8760)),
        new("Running:EventsKept", "200", "a whole number from 10 to 100000 (self-healing and start/stop events kept per project)", Int(10, 100000)),
        new("Apps:MemoryMb", "1024", "a whole number of MiB from 6 to 1048576 (memory limit of each app container; a project may set its own)", Int(6, 1048576)),
        new("Apps:Cpus", "1", "a number of CPUs from 0.01 to 1024, at most two decimals, e.g. 0.5 (CPU limit of each app container; a project may set its own)", v => PanelSettings.ParseCpus(v) is not null),
        new("Apps:RestartPolicy", "unless-stopped", "one of unless-stopped, always, on-failure, no (Docker's restart policy of each app container; self-healing restarts a live app either way, except one its user stopped)", v => v is "unless-stopped" or "always" or "on-failure" or "no"),
        new("Apps:PidsLimit", "512", "a whole number from 16 to 4194304 (processes and threads one app container may have; a project may set its own)", Int(16, 4194304)),
        new("Apps:LogMaxSizeMb", "10", "a whole number of MiB from 1 to 1024 (size of one Docker log file of a container before it is rotated)", Int(1, 1024)),
        new("Apps:LogMaxFiles", "3", "a whole number from 1 to 100 (rotated Docker log files kept per container)", Int(1, 100)),
        new("Disk:KeepImages", "5", "a whole number from 1 to 1000 (images the disk cleanup keeps per project besides the live one and pinned ones)", Int(1, 1000)),
        new("Disk:RetentionDays", "7", "a whole number of days from 1 to 3650 (BuildKit build cache unused for longer, and stray build directories and deploy logs older than this, are removed by the disk cleanup)", Int(1, 3650)),
        new("Disk:MinFreeMb", "1024", "a whole number of MiB from 0 to 104857600 (a build is refused while the data dir or Docker's root has less free; 0 turns the check off)", Int(0, 104857600)),
        new("Disk:CleanupSchedule", "0 20 4 * * ?", "empty (no scheduled disk cleanup) or a Quartz cron expression with seconds, e.g. 0 20 4 * * ? for 04:20 daily", v => v == "" || Quartz.CronExpression.TryParse(v, out _)),
        new("Backup:Schedule", "0 30 3 * * ?", "empty (no scheduled backups) or a Quartz cron expression with seconds, e.g. 0 30 3 * * ? for 03:30 daily", v => v == "" || Quartz.CronExpression.TryParse(v, out _)),
        new("Backup:Keep", "7", "a whole number from 1 to 1000 (how many backups <DataDir>/backups keeps)", Int(1, 1000)),
        // At least 30: the audit_log delete trigger (migration 0013) refuses to delete rows younger than 30 days.
        new("Audit:RetentionDays", "365", "a whole number of days from 30 to 36500 (how long the audit log keeps a row)", Int(30, 36500)),
        new("Terminal:IdleMinutes", "15", "a whole number of minutes from 1 to 1440 (a web terminal without input for this long is closed)", Int(1, 1440)),
        new("Terminal:MaxSessionsPerUser", "3", "a whole number from 1 to 100 (web terminals one user may have open at once)", Int(1, 100)),
        new("Notifications:RetrySeconds", "30", "a whole number of seconds from 1 to 3600 (wait before the first retry of a failed notification; it doubles each time, at most 1 hour)", Int(1, 3600)),
        new("Notifications:RetryHours", "24", "a whole number of hours from 1 to 168 (how long a notification is retried before it is given up)", Int(1, 168)),
        new("Notifications:CollapseSeconds", "600", "a whole number of seconds from 10 to 86400 (the same event for the same project within this window becomes one message with a count)", Int(10, 86400)),
        new("Notifications:TelegramApiUrl", "https://api.telegram.org", "an http(s) URL without a path (the Telegram Bot API that Telegram channels post to)", Notifications.NotifyAddress.IsBaseUrl),
        new("Notifications:NtfyUrl", "https://ntfy.sh", "an http(s) URL without a path (the ntfy server of ntfy channels that name none)", Notifications.NotifyAddress.IsBaseUrl),
        new("Webhooks:MaxDeliveriesPerMinute", "300", "a whole number from 1 to 100000 (webhook deliveries one project accepts per minute)", Int(1, 100000)),
        new("Git:AllowedHosts", "", "empty, or host names or IP addresses, each optionally with :port, separated by commas (Git servers on this machine or network the operator trusts)",
            v => Git.GitHosts.ParseAllowedHosts(v).All(Git.GitHosts.IsValidAllowedHost)),
        new("Git:AllowPrivateNetworks", "false", "true (Git URLs may point at private networks: 10/8, 172.16/12, 192.168/16, 100.64/10, fc00::/7) or false", Bool),
        new("Panel:TrustedProxies", "127.0.0.1,::1", "empty (trust no proxy) or a comma-separated list of IP addresses or networks (CIDR) whose X-Forwarded-For/-Proto the panel believes, e.g. 127.0.0.1,::1", Auth.TrustedProxies.IsValidList),
        new("Storage:HostPathRoot", "/srv/vpspanel", "an absolute path other than /, without . or .. segments, not /etc, /proc, /sys, /dev, /boot, /root or Docker's directories, nor inside or around the data dir (the only directory under which admins may mount host directories into apps)",
            v => Volumes.VolumeRules.RootProblem(v) is null),
        new("Cluster:Registry", "", "empty (no registry: only a one-server cluster can run the manager's local images) or HOST:PORT of the registry every node pulls cluster images from (Debian's docker-registry on the manager)",
            v => v == "" || Cluster.ClusterRegistry.IsHostPort(v)),
        new("Cluster:RegistryUser", "", "the registry's user name (htpasswd), or empty for a registry without sign-in", v => v.Length <= 200 && !v.Any(char.IsControl)),
        new("Cluster:RegistryPassword", "", "the registry user's password", v => v.Length <= 500 && !v.Any(char.IsControl), Secret: true),
        new("Cluster:SyncSeconds", "2", "a whole number of seconds from 1 to 60 (how often the running tasks of cluster projects are read to keep Caddy's upstreams and the nodes' states current)", Int(1, 60)),
        new("Auth:SetupToken", "", "empty (a random token is made at startup) or at least 16 characters", v => v == "" || v.Length >= 16, Secret: true),
        .. Builds.BaseImages.Settings,
        .. Services.ServiceEngines.Settings,
        .. Upgrades.Release.Settings,
    ];
}

/// <summary>The effective, validated settings, typed.</summary>
public sealed class PanelSettings
{
    public required string DataDir { get; init; }
    public required string PublicUrl { get; init; }
    public required string DockerSocket { get; init; }
    public required string CaddyAdminAddress { get; init; }
    public required string CaddyCaddyfile { get; init; }
    public required string CaddySitesDir { get; init; }
    /// <summary>Where Caddy serves plain static sites from (Deployments/StaticSiteDeploy); not `required`, so hand-built settings need not say.</summary>
    public string StaticDir { get; init; } = "";
    public required bool AutomaticHttps { get; init; }
    public required string AcmeEmail { get; init; }
    public required bool InternalTls { get; init; }
    public required int PortFrom { get; init; }
    public required int PortTo { get; init; }
    public required int MaxParallelBuilds { get; init; }
    public required long BuildMemoryBytes { get; init; }
    public required TimeSpan BuildTimeout { get; init; }
    public string Builder { get; init; } = "buildkit";
    public string DockerCli { get; init; } = "/usr/bin/docker";
    /// <summary>The engine's cgroup parent (Docker/BuildMemoryCap); not `required`, so hand-built settings need not say.</summary>
    public string CgroupParent { get; init; } = "docker";
    public required TimeSpan HealthTimeout { get; init; }
    /// <summary>Cluster projects (Cluster/*); not `required`, so hand-built settings need not say.</summary>
    public string ClusterRegistry { get; init; } = "";
    public string ClusterRegistryUser { get; init; } = "";
    public string ClusterRegistryPassword { get; init; } = "";
    public TimeSpan ClusterSync { get; init; } = TimeSpan.FromSeconds(2);
    public required int HealthRetries { get; init; }
    public required TimeSpan Drain { get; init; }
    public required string FixedSetupToken { get; init; }
    // Not `required`, so code that builds settings by hand (tests) need not know about backups.
    public string BackupSchedule { get; init; } = "";
    public int BackupKeep { get; init; } = 7;
    public int WebhookDeliveriesPerMinute { get; init; } = 300;
    // Limits of app containers (per-project overrides in Projects/ProjectLimits) and of every container's Docker log.
    public long AppMemoryBytes { get; init; } = 1024L * 1024 * 1024;
    public long AppNanoCpus { get; init; } = 1_000_000_000;
    public long AppPidsLimit { get; init; } = 512;
    public string AppRestartPolicy { get; init; } = "unless-stopped";
    public int LogMaxSizeMb { get; init; } = 10;
    public int LogMaxFiles { get; init; } = 3;
    public IReadOnlyList<string> GitAllowedHosts { get; init; } = [];
    public bool GitAllowPrivateNetworks { get; init; }
    public string TrustedProxies { get; init; } = "127.0.0.1,::1";
    public int AuditRetentionDays { get; init; } = 365;
    /// <summary>Notifications (Features/Notifications): back-off, how long to retry, flood window, service base URLs.</summary>
    public TimeSpan NotifyRetry { get; init; } = TimeSpan.FromSeconds(30);
    public TimeSpan NotifyRetryFor { get; init; } = TimeSpan.FromHours(24);
    public TimeSpan NotifyCollapse { get; init; } = TimeSpan.FromMinutes(10);
    public string TelegramApiUrl { get; init; } = "https://api.telegram.org";
    public string NtfyUrl { get; init; } = "https://ntfy.sh";
    public TimeSpan TerminalIdle { get; init; } = TimeSpan.FromMinutes(15);
    public int TerminalMaxSessionsPerUser { get; init; } = 3;
    public TimeSpan CaddyRetry { get; init; } = TimeSpan.FromSeconds(120);
    public TimeSpan ReconcileInterval { get; init; } = TimeSpan.FromSeconds(30);
    /// <summary>The probe of live apps after their deploy (Running/HealthWatch).</summary>
    public TimeSpan HealthProbeInterval { get; init; } = TimeSpan.FromSeconds(30);
    public int HealthFailuresBeforeAlert { get; init; } = 3;
    /// <summary>Disk hygiene (Hygiene/DiskCleanup, Hygiene/DiskGuard); not `required`, so hand-built settings need not say.</summary>
    public int DiskKeepImages { get; init; } = 5;
    public int DiskRetentionDays { get; init; } = 7;
    public long DiskMinFreeBytes { get; init; } = 1024L * 1024 * 1024;
    public string DiskCleanupSchedule { get; init; } = "0 20 4 * * ?";
    public TimeSpan MetricsInterval { get; init; } = TimeSpan.FromSeconds(10);
    public TimeSpan MetricsDiskUsageInterval { get; init; } = TimeSpan.FromMinutes(5);
    public TimeSpan OrphanGrace { get; init; } = TimeSpan.FromSeconds(600);
    public int CrashLoopExits { get; init; } = 3;
    public int EventsKept { get; init; } = 200;
    public int PreviewsPerProject { get; init; } = 5;
    public TimeSpan PreviewTtl { get; init; } = TimeSpan.FromHours(168);
    /// <summary>FROM images of generated Dockerfiles by name (Node, Python, GoRuntime …), see Builds/BaseImages.</summary>
    public IReadOnlyDictionary<string, string> BaseImages { get; init; } = Builds.BaseImages.Defaults;
    /// <summary>Admins may bind-mount host directories into apps from under this directory only (Volumes/VolumeRules).</summary>
    public string HostPathRoot { get; init; } = "/srv/vpspanel";
    /// <summary>Images of database services by engine id (postgres, mariadb, redis), see Services/ServiceEngines.</summary>
    public IReadOnlyDictionary<string, string> ServiceImages { get; init; } = Services.ServiceEngines.DefaultImages;
    /// <summary>Releases and `vpspanel upgrade` (Upgrades/Release): where releases are, how the panel restarts, how long a new version may take.</summary>
    public string ReleaseBaseUrl { get; init; } = "https://github.com/" + Upgrades.Release.DefaultRepository + "/releases";
    public string UpgradeRestartCommand { get; init; } = "systemctl restart vpspanel";
    public TimeSpan UpgradeHealthTimeout { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>The raw effective value of every key (derived defaults filled in), in table order.</summary>
    public required IReadOnlyList<(Setting Setting, string Value)> Effective { get; init; }

    public string DatabasePath => Path.Combine(DataDir, "vpspanel.db");
    public string KeysDir => Path.Combine(DataDir, "keys");
    public string BackupsDir => Path.Combine(DataDir, "backups");

    /// <summary>The settings file install.sh writes; read by every entry point, and saved in backups.</summary>
    public const string EtcSettingsFile = "/etc/vpspanel/appsettings.json";

    public static (int From, int To)? ParsePortRange(string v)
    {
        var parts = v.Split('-');
        if (parts.Length != 2) return null;
        if (!int.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out var from)) return null;
        if (!int.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out var to)) return null;
        if (from < 1024 || to > 65535 || from >= to) return null;
        return (from, to);
    }

    /// <summary>CPUs as Docker's NanoCpus: "0.5" → 500000000; null unless 0.01 to 1024 with at most two decimals.</summary>
    public static long? ParseCpus(string v)
    {
        if (v.Length > 8 || !decimal.TryParse(v, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var cpus)) return null;
        if (cpus < 0.01m || cpus > 1024m || decimal.Round(cpus, 2) != cpus) return null;
        return (long)(cpus * 1_000_000_000m);
    }

    /// <summary>Reads and validates every key; all problems are reported at once, each naming its key.</summary>
    public static PanelSettings Load(IConfiguration config)
    {
        var values = new Dictionary<string, string>();
        var errors = new List<string>();
        foreach (var s in SettingsTable.All)
        {
            var raw = config[s.Key];
            var v = raw is null ? s.Default : raw.Trim();
            if (!s.IsValid(v))
                errors.Add($"setting {s.Key} = \"{(s.Secret ? "********" : v)}\" is not valid: expected {s.Allowed}");
            values[s.Key] = v;
        }
        if (errors.Count > 0)
            throw new SettingsException("invalid settings:\n  " + string.Join("\n  ", errors));

        var dataDir = Path.GetFullPath(values["Panel:DataDir"]);
        if (values["Caddy:SitesDir"] == "") values["Caddy:SitesDir"] = Path.Combine(dataDir, "caddy", "sites");
        // Beside the site files, because Caddy (its own user on a real host) can already read there: install.sh makes
        // that folder group caddy and setgid, while the data dir is the panel's alone (0700).
        if (values["Caddy:StaticDir"] == "") values["Caddy:StaticDir"] = Path.Combine(Path.GetDirectoryName(Path.GetFullPath(values["Caddy:SitesDir"]).TrimEnd('/')) ?? "/", "static");
        values["Panel:DataDir"] = dataDir;
        if (Volumes.VolumeRules.RootAgainstDataDir(values["Storage:HostPathRoot"], dataDir) is { } overlap)
            throw new SettingsException($"invalid settings:\n  setting Storage:HostPathRoot = \"{values["Storage:HostPathRoot"]}\" is not valid: {overlap}");
        var ports = ParsePortRange(values["Deploy:PortRange"])!.Value;
        int I(string k) => int.Parse(values[k], CultureInfo.InvariantCulture);

        return new PanelSettings
        {
            DataDir = dataDir,
            PublicUrl = values["Panel:PublicUrl"].TrimEnd('/'),
            DockerSocket = values["Docker:Socket"],
            CaddyAdminAddress = values["Caddy:AdminAddress"].TrimEnd('/'),
            CaddyCaddyfile = values["Caddy:Caddyfile"],
            CaddySitesDir = values["Caddy:SitesDir"],
            StaticDir = values["Caddy:StaticDir"],
            AutomaticHttps = bool.Parse(values["Caddy:AutomaticHttps"]),
            AcmeEmail = values["Caddy:AcmeEmail"],
            InternalTls = bool.Parse(values["Caddy:InternalTls"]),
            PortFrom = ports.From,
            PortTo = ports.To,
            MaxParallelBuilds = I("Deploy:MaxParallelBuilds"),
            BuildMemoryBytes = I("Deploy:BuildMemoryMb") * 1024L * 1024L,
            BuildTimeout = TimeSpan.FromMinutes(I("Deploy:BuildTimeoutMinutes")),
            Builder = values["Build:Builder"],
            DockerCli = values["Build:DockerCli"],
            CgroupParent = values["Docker:CgroupParent"],
            HealthTimeout = TimeSpan.FromSeconds(I("Deploy:HealthTimeoutSeconds")),
            HealthRetries = I("Deploy:HealthRetries"),
            Drain = TimeSpan.FromSeconds(I("Deploy:DrainSeconds")),
            FixedSetupToken = values["Auth:SetupToken"],
            BackupSchedule = values["Backup:Schedule"],
            BackupKeep = I("Backup:Keep"),
            WebhookDeliveriesPerMinute = I("Webhooks:MaxDeliveriesPerMinute"),
            AppMemoryBytes = I("Apps:MemoryMb") * 1024L * 1024L,
            AppNanoCpus = ParseCpus(values["Apps:Cpus"])!.Value,
            AppPidsLimit = I("Apps:PidsLimit"),
            AppRestartPolicy = values["Apps:RestartPolicy"],
            LogMaxSizeMb = I("Apps:LogMaxSizeMb"),
            LogMaxFiles = I("Apps:LogMaxFiles"),
            GitAllowedHosts = Git.GitHosts.ParseAllowedHosts(values["Git:AllowedHosts"]),
            GitAllowPrivateNetworks = bool.Parse(values["Git:AllowPrivateNetworks"]),
            TrustedProxies = values["Panel:TrustedProxies"],
            AuditRetentionDays = I("Audit:RetentionDays"),
            NotifyRetry = TimeSpan.FromSeconds(I("Notifications:RetrySeconds")),
            NotifyRetryFor = TimeSpan.FromHours(I("Notifications:RetryHours")),
            NotifyCollapse = TimeSpan.FromSeconds(I("Notifications:CollapseSeconds")),
            TelegramApiUrl = values["Notifications:TelegramApiUrl"].TrimEnd('/'),
            NtfyUrl = values["Notifications:NtfyUrl"].TrimEnd('/'),
            TerminalIdle = TimeSpan.FromMinutes(I("Terminal:IdleMinutes")),
            TerminalMaxSessionsPerUser = I("Terminal:MaxSessionsPerUser"),
            CaddyRetry = TimeSpan.FromSeconds(I("Deploy:CaddyRetrySeconds")),
            ClusterRegistry = values["Cluster:Registry"],
            ClusterRegistryUser = values["Cluster:RegistryUser"],
            ClusterRegistryPassword = values["Cluster:RegistryPassword"],
            ClusterSync = TimeSpan.FromSeconds(I("Cluster:SyncSeconds")),
            ReconcileInterval = TimeSpan.FromSeconds(I("Deploy:ReconcileSeconds")),
            HealthProbeInterval = TimeSpan.FromSeconds(I("Health:ProbeSeconds")),
            HealthFailuresBeforeAlert = I("Health:FailuresBeforeAlert"),
            DiskKeepImages = I("Disk:KeepImages"),
            DiskRetentionDays = I("Disk:RetentionDays"),
            DiskMinFreeBytes = I("Disk:MinFreeMb") * 1024L * 1024L,
            DiskCleanupSchedule = values["Disk:CleanupSchedule"],
            MetricsInterval = TimeSpan.FromSeconds(I("Metrics:IntervalSeconds")),
            MetricsDiskUsageInterval = TimeSpan.FromMinutes(I("Metrics:DiskUsageMinutes")),
            OrphanGrace = TimeSpan.FromSeconds(I("Running:OrphanGraceSeconds")),
            CrashLoopExits = I("Running:CrashLoopExits"),
            EventsKept = I("Running:EventsKept"),
            PreviewsPerProject = I("Previews:MaxPerProject"),
            PreviewTtl = TimeSpan.FromHours(I("Previews:TtlHours")),
            BaseImages = Builds.BaseImages.From(values),
            HostPathRoot = values["Storage:HostPathRoot"].TrimEnd('/'),
            ServiceImages = Services.ServiceEngines.ImagesFrom(values),
            ReleaseBaseUrl = Upgrades.Release.BaseFrom(values),
            UpgradeRestartCommand = values["Upgrade:RestartCommand"],
            UpgradeHealthTimeout = TimeSpan.FromSeconds(I("Upgrade:HealthTimeoutSeconds")),
            Effective = SettingsTable.All.Select(s => (s, values[s.Key])).ToList(),
        };
    }

    /// <summary>The configuration sources every entry point uses: defaults, appsettings, env vars, command line.</summary>
    public static IConfigurationRoot BuildConfiguration(string[] args)
    {
        var files = new[] { Path.Combine(AppContext.BaseDirectory, "appsettings.json"), EtcSettingsFile };
        try
        {
            return new ConfigurationBuilder()
                .AddJsonFile(files[0], optional: true)
                .AddJsonFile(files[1], optional: true)
                .AddEnvironmentVariables()
                .AddEnvironmentVariables("VpsPanel__")
                .AddCommandLine(args)
                .Build();
        }
        catch (InvalidDataException e)
        {
            // The JSON provider says "Failed to load configuration from file '…'" and keeps the parser's line and
            // position in the inner exception; both belong in the one line the operator gets.
            var detail = e.InnerException?.Message is { } inner ? $": {inner.ReplaceLineEndings(" ")}" : "";
            var file = files.FirstOrDefault(f => e.Message.Contains(f)) ?? "appsettings.json";
            throw new SettingsException($"the settings file {file} is not valid JSON{detail}");
        }
        catch (FormatException e)
        {
            // A command-line switch without a value, e.g. a trailing `--urls`.
            throw new SettingsException($"the command line is not valid: {e.Message}");
        }
    }

    /// <summary>What `vpspanel config` prints: every key, its effective value, secrets masked.</summary>
    public string Describe() =>
        string.Join('\n', Effective.Select(e => $"{e.Setting.Key} = {(e.Setting.Secret && e.Value != "" ? "********" : e.Value)}")) + "\n";
}
