using System.Globalization;
using System.Security.Cryptography;
using System.Text.RegularExpressions;
using Docker.DotNet.Models;
using VpsPanel.Features.Settings;

namespace VpsPanel.Features.Services;

/// <summary>
/// What each engine needs, following its official image's contract: the image setting, port, data directory,
/// environment, command, health check, and the variables a linked project gets. The setting
/// (Services:Images:&lt;Engine&gt;) is a full image reference whose tag is the default version; a service of another
/// version runs the same repository with that version as its tag (postgres:17 → postgres:17.2). So a server with its
/// own images tags them by version in its own repository.
/// </summary>
public static partial class ServiceEngines
{
    public sealed record Engine(
        string Id, string Label, string SettingName, string DefaultImage, int Port, string DataPath, string UrlVariable, string PartsPrefix, bool Sql);

    public static readonly Engine[] All =
    [
        new("postgres", "PostgreSQL", "Postgres", "postgres:17", 5432, "/var/lib/postgresql/data", "DATABASE_URL", "DB_", Sql: true),
        new("mariadb", "MariaDB", "Mariadb", "mariadb:11", 3306, "/var/lib/mysql", "DATABASE_URL", "DB_", Sql: true),
        new("redis", "Redis", "Redis", "redis:7", 6379, "/data", "REDIS_URL", "REDIS_", Sql: false),
    ];

    public static Engine? Find(string? id) => All.FirstOrDefault(e => e.Id == id);

    public static IEnumerable<Setting> Settings => All.Select(e => new Setting($"Services:Images:{e.SettingName}", e.DefaultImage,
        $"an image reference with a tag, such as {e.DefaultImage} ({e.Label} services: the tag is the default version, other versions use the same repository)",
        v => Builds.BaseImages.IsValidReference(v) && SplitImage(v).Tag is not null));

    public static IReadOnlyDictionary<string, string> ImagesFrom(IReadOnlyDictionary<string, string> values) =>
        All.ToDictionary(e => e.Id, e => values.GetValueOrDefault($"Services:Images:{e.SettingName}", e.DefaultImage));

    public static IReadOnlyDictionary<string, string> DefaultImages { get; } = All.ToDictionary(e => e.Id, e => e.DefaultImage);

    /// <summary>Repository and tag of a reference (a registry's :port is not a tag; a digest is dropped).</summary>
    public static (string Repository, string? Tag) SplitImage(string image)
    {
        var at = image.IndexOf('@');
        if (at >= 0) image = image[..at];
        var colon = image.LastIndexOf(':');
        return colon > image.LastIndexOf('/') ? (image[..colon], image[(colon + 1)..]) : (image, null);
    }

    public static string DefaultVersion(PanelSettings settings, Engine e) => SplitImage(settings.ServiceImages[e.Id]).Tag!;

    public static string ImageFor(PanelSettings settings, Engine e, string version) => SplitImage(settings.ServiceImages[e.Id]).Repository + ":" + version;

    // A tag (Docker's grammar) that starts with the major version number: 17, 17.2, 11.4-noble, 7.2-alpine.
    [GeneratedRegex(@"^[0-9]+(?:\.[0-9]+)*(?:[-_][A-Za-z0-9_.-]{1,100})?\z")]
    private static partial Regex VersionPattern();

    public static string? VersionProblem(string v) => VersionPattern().IsMatch(v) ? null
        : $"\"{v}\" is not a version: give the image tag, starting with the major version number, e.g. 17 or 17.2";

    /// <summary>The major version (the data directory's format follows it): the first number of the tag.</summary>
    public static int Major(string version) => int.Parse(version.Split('.', '-', '_')[0], CultureInfo.InvariantCulture);

    // A DNS label: the name is the host name linked apps connect to, and part of container, volume and network names.
    [GeneratedRegex(@"^[a-z](?:[a-z0-9-]{0,30}[a-z0-9])?\z")]
    private static partial Regex NamePattern();

    public static string? NameProblem(string name) =>
        !NamePattern().IsMatch(name) ? "the name must be 1 to 32 lower-case letters, digits and hyphens, start with a letter and not end with a hyphen (it is the host name apps connect to)"
        // The name is also the user and database of a SQL service: PostgreSQL refuses roles named pg_*, MariaDB has
        // its own databases mysql and sys.
        : name.StartsWith("pg-", StringComparison.Ordinal) ? "the name may not start with pg- (PostgreSQL reserves the names pg_* for itself, and the name is also the user's)"
        : name is "mysql" or "sys" ? $"{name} is the name of one of MariaDB's own databases; choose another"
        : null;

    /// <summary>32 letters and digits: about 190 bits, and nothing a URL, a shell or SQL quoting would need to escape.</summary>
    public static string NewPassword() =>
        RandomNumberGenerator.GetString("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789", 32);

    /// <summary>The user and database a SQL service is made with: its name, with hyphens (which need quoting in SQL) as underscores.</summary>
    public static string DatabaseName(string serviceName) => serviceName.Replace('-', '_');

    public static List<string> Environment(Engine e, string name, string password) => e.Id switch
    {
        "postgres" => [$"POSTGRES_PASSWORD={password}", $"POSTGRES_USER={DatabaseName(name)}", $"POSTGRES_DB={DatabaseName(name)}"],
        "mariadb" => [$"MARIADB_ROOT_PASSWORD={password}", $"MARIADB_DATABASE={DatabaseName(name)}", $"MARIADB_USER={DatabaseName(name)}", $"MARIADB_PASSWORD={password}"],
        // redis-cli reads REDISCLI_AUTH, so the health check (and an operator's `docker exec … redis-cli`) can authenticate.
        _ => [$"REDISCLI_AUTH={password}"],
    };

    public static List<string>? Command(Engine e, string password) => e.Id == "redis"
        ? ["redis-server", "--requirepass", password, "--appendonly", "yes"]
        : null;

    /// <summary>The engine's own readiness probe, as the container's HEALTHCHECK (docker ps and the page show its result).</summary>
    public static HealthcheckConfig HealthCheck(Engine e, string name) => new()
    {
        Test = e.Id switch
        {
            "postgres" => ["CMD", "pg_isready", "-U", DatabaseName(name), "-d", DatabaseName(name)],
            // Exits 0 whenever the server answers, even "access denied": it asks whether mariadbd is up, not who we are.
            "mariadb" => ["CMD", "mariadb-admin", "ping"],
            _ => ["CMD-SHELL", "redis-cli ping | grep -q PONG"],
        },
        Interval = TimeSpan.FromSeconds(10),
        Timeout = TimeSpan.FromSeconds(5),
        Retries = 5,
        StartPeriod = TimeSpan.FromSeconds(60),
    };

    /// <summary>
    /// The variables a linked project gets: the URL, and its parts with the engine's prefix (DB_ for SQL, REDIS_).
    /// The URL and the password are secret; host, port, user and database are not (they are no secret, and masking
    /// "5432" everywhere in a log would garble it).
    /// </summary>
    public static List<Variables.Variable> LinkVariables(Engine e, string name, string password)
    {
        var p = e.PartsPrefix;
        if (!e.Sql)
            return
            [
                new(e.UrlVariable, $"redis://:{password}@{name}:{e.Port}/0", true, false, true),
                new(p + "HOST", name, false, false, true),
                new(p + "PORT", e.Port.ToString(CultureInfo.InvariantCulture), false, false, true),
                new(p + "PASSWORD", password, true, false, true),
            ];
        var db = DatabaseName(name);
        var scheme = e.Id == "postgres" ? "postgres" : "mysql";
        return
        [
            new(e.UrlVariable, $"{scheme}://{db}:{password}@{name}:{e.Port}/{db}", true, false, true),
            new(p + "HOST", name, false, false, true),
            new(p + "PORT", e.Port.ToString(CultureInfo.InvariantCulture), false, false, true),
            new(p + "USER", db, false, false, true),
            new(p + "PASSWORD", password, true, false, true),
            new(p + "NAME", db, false, false, true),
        ];
    }
}
