using Dapper;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.Data.Sqlite;
using VpsPanel.Features.Shared;

namespace VpsPanel.Features.Services;

/// <summary>A services row. Init properties so Dapper maps columns by name (snake_case to PascalCase).</summary>
public sealed record ServiceRow
{
    public long Id { get; init; }
    public string Name { get; init; } = "";
    public string Engine { get; init; } = "";
    public string Version { get; init; } = "";
    public string Image { get; init; } = "";
    public string PasswordProtected { get; init; } = "";
    public long MemoryMb { get; init; }
    public long? PublicPort { get; init; }
    public long OwnerId { get; init; }
    public string OwnerEmail { get; init; } = "";
    public string DesiredState { get; init; } = "";
    public string Status { get; init; } = "";
    public string? StatusError { get; init; }
    public string StatusAt { get; init; } = "";
    public string CreatedAt { get; init; } = "";
}

/// <summary>A project a service is linked to.</summary>
public sealed record LinkedProject(long Id, string Slug, string Name);

/// <summary>A service a project is linked to.</summary>
public sealed record LinkedService(long Id, string Name, string Engine);

/// <summary>The SQL of services and their links to projects. Ownership follows projects: admins see all, members their own.</summary>
public static class ServiceStore
{
    /// <summary>The Data Protection purpose of stored service passwords; nothing else can read them.</summary>
    public const string PasswordPurpose = "VpsPanel.Services.Password.v1";

    const string Columns =
        "s.id, s.name, s.engine, s.version, s.image, s.password_protected, s.memory_mb, s.public_port, s.owner_id, u.email AS owner_email, " +
        "s.desired_state, s.status, s.status_error, s.status_at, s.created_at";

    public static string Password(IDataProtectionProvider protection, ServiceRow s) =>
        protection.CreateProtector(PasswordPurpose).Unprotect(s.PasswordProtected);

    public static List<ServiceRow> ListServicesVisibleTo(SqliteConnection c, long userId, bool isAdmin) =>
        c.Query<ServiceRow>($"SELECT {Columns} FROM services s JOIN users u ON u.id = s.owner_id WHERE @isAdmin OR s.owner_id = @userId ORDER BY s.name",
            new { userId, isAdmin }).AsList();

    public static List<ServiceRow> ListAllServices(SqliteConnection c) =>
        c.Query<ServiceRow>($"SELECT {Columns} FROM services s JOIN users u ON u.id = s.owner_id ORDER BY s.name").AsList();

    public static ServiceRow? FindServiceByNameVisibleTo(SqliteConnection c, string name, long userId, bool isAdmin) =>
        c.QuerySingleOrDefault<ServiceRow>(
            $"SELECT {Columns} FROM services s JOIN users u ON u.id = s.owner_id WHERE s.name = @name AND (@isAdmin OR s.owner_id = @userId)",
            new { name, userId, isAdmin });

    public static ServiceRow? FindServiceById(SqliteConnection c, long id) =>
        c.QuerySingleOrDefault<ServiceRow>($"SELECT {Columns} FROM services s JOIN users u ON u.id = s.owner_id WHERE s.id = @id", new { id });

    public static bool ServiceNameExists(SqliteConnection c, string name) =>
        c.ExecuteScalar<bool>("SELECT EXISTS (SELECT 1 FROM services WHERE name = @name)", new { name });

    public static string? FindServiceNameWithPublicPort(SqliteConnection c, int port) =>
        c.QuerySingleOrDefault<string>("SELECT name FROM services WHERE public_port = @port", new { port });

    public static long InsertService(SqliteConnection c, IDataProtectionProvider protection, string name, string engine, string version, string image,
        string password, long memoryMb, int? publicPort, long ownerId)
    {
        var now = Clock.Now();
        return c.ExecuteScalar<long>(
            """
            INSERT INTO services (name, engine, version, image, password_protected, memory_mb, public_port, owner_id, status, status_at, created_at, updated_at)
            VALUES (@name, @engine, @version, @image, @pw, @memoryMb, @publicPort, @ownerId, 'creating', @now, @now, @now)
            RETURNING id
            """,
            new { name, engine, version, image, pw = protection.CreateProtector(PasswordPurpose).Protect(password), memoryMb, publicPort, ownerId, now });
    }

    public static void UpdateServiceStatus(SqliteConnection c, long id, string status, string? error = null) =>
        c.Execute("UPDATE services SET status = @status, status_error = @error, status_at = @now WHERE id = @id",
            new { id, status, error, now = Clock.Now() });

    public static void UpdateServiceDesiredState(SqliteConnection c, long id, string desired) =>
        c.Execute("UPDATE services SET desired_state = @desired, updated_at = @now WHERE id = @id", new { id, desired, now = Clock.Now() });

    public static void UpdateServiceVersion(SqliteConnection c, long id, string version, string image) =>
        c.Execute("UPDATE services SET version = @version, image = @image, updated_at = @now WHERE id = @id", new { id, version, image, now = Clock.Now() });

    public static void DeleteService(SqliteConnection c, long id) => c.Execute("DELETE FROM services WHERE id = @id", new { id });

    // ---- links ----------------------------------------------------------------------------------------------------

    public static List<LinkedProject> ListProjectsLinkedToService(SqliteConnection c, long serviceId, SqliteTransaction? tx = null) =>
        c.Query<LinkedProject>(
            "SELECT p.id, p.slug, p.name FROM service_links l JOIN projects p ON p.id = l.project_id WHERE l.service_id = @serviceId ORDER BY p.slug",
            new { serviceId }, tx).AsList();

    public static List<LinkedService> ListServicesLinkedToProject(SqliteConnection c, long projectId) =>
        c.Query<LinkedService>(
            "SELECT s.id, s.name, s.engine FROM service_links l JOIN services s ON s.id = l.service_id WHERE l.project_id = @projectId ORDER BY s.name",
            new { projectId }).AsList();

    /// <summary>The rows of the services linked to a project, for its variables (see <see cref="ServiceLinkVariables"/>).</summary>
    public static List<ServiceRow> ListServiceRowsLinkedToProject(SqliteConnection c, long projectId) =>
        c.Query<ServiceRow>(
            $"SELECT {Columns} FROM service_links l JOIN services s ON s.id = l.service_id JOIN users u ON u.id = s.owner_id WHERE l.project_id = @projectId ORDER BY s.name",
            new { projectId }).AsList();

    public static bool ServiceLinkExists(SqliteConnection c, long serviceId, long projectId) =>
        c.ExecuteScalar<bool>("SELECT EXISTS (SELECT 1 FROM service_links WHERE service_id = @serviceId AND project_id = @projectId)", new { serviceId, projectId });

    /// <summary>Links, and marks the project as running with other variables than a deploy would get now.</summary>
    public static void InsertServiceLink(SqliteConnection c, long serviceId, long projectId)
    {
        using var tx = c.BeginTransaction();
        c.Execute("INSERT INTO service_links (service_id, project_id, created_at) VALUES (@serviceId, @projectId, @now)",
            new { serviceId, projectId, now = Clock.Now() }, tx);
        c.Execute("UPDATE projects SET variables_version = variables_version + 1 WHERE id = @projectId", new { projectId }, tx);
        tx.Commit();
    }

    public static bool DeleteServiceLink(SqliteConnection c, long serviceId, long projectId)
    {
        using var tx = c.BeginTransaction();
        var n = c.Execute("DELETE FROM service_links WHERE service_id = @serviceId AND project_id = @projectId", new { serviceId, projectId }, tx);
        if (n > 0) c.Execute("UPDATE projects SET variables_version = variables_version + 1 WHERE id = @projectId", new { projectId }, tx);
        tx.Commit();
        return n > 0;
    }

    /// <summary>Slugs of every project, for the networks a service must join (the project's network is named after its slug).</summary>
    public static List<string> ListSlugsLinkedToService(SqliteConnection c, long serviceId) =>
        c.Query<string>("SELECT p.slug FROM service_links l JOIN projects p ON p.id = l.project_id WHERE l.service_id = @serviceId ORDER BY p.slug",
            new { serviceId }).AsList();
}
