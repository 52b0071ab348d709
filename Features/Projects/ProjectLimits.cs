using System.Globalization;
using Dapper;
using Microsoft.Data.Sqlite;
using VpsPanel.Features.Settings;

namespace VpsPanel.Features.Projects;

/// <summary>
/// A project's own limits for its app container; a null one is the panel's setting (Apps:MemoryMb, Apps:Cpus,
/// Apps:PidsLimit). Only admins change them: the limits are what keeps one member's app from taking the machine, so a
/// member who could raise their own would make them pointless. They apply from the next start of a container
/// (a deploy or a rollback).
/// </summary>
public sealed record ProjectLimits(long? MemoryMb, long? NanoCpus, long? PidsLimit)
{
    public static readonly ProjectLimits None = new(null, null, null);

    public const int MinMemoryMb = 6, MaxMemoryMb = 1048576, MinPids = 16, MaxPids = 4194304;

    public string MemoryText => MemoryMb?.ToString(CultureInfo.InvariantCulture) ?? "";
    public string CpusText => NanoCpus is { } n ? CpusOf(n) : "";
    public string PidsText => PidsLimit?.ToString(CultureInfo.InvariantCulture) ?? "";

    public static string CpusOf(long nanoCpus) => (nanoCpus / 1_000_000_000m).ToString("0.##", CultureInfo.InvariantCulture);

    /// <summary>What the container is started with: the project's own limits, else the panel's.</summary>
    public (long MemoryBytes, long NanoCpus, long PidsLimit) Effective(PanelSettings s) =>
        (MemoryMb is { } m ? m * 1024 * 1024 : s.AppMemoryBytes, NanoCpus ?? s.AppNanoCpus, PidsLimit ?? s.AppPidsLimit);

    public static ProjectLimits FindProjectLimits(SqliteConnection c, long projectId, SqliteTransaction? tx = null) =>
        c.QuerySingleOrDefault<ProjectLimits>("SELECT memory_mb, nano_cpus, pids_limit FROM projects WHERE id = @projectId", new { projectId }, tx) ?? None;

    public static void UpdateProjectLimits(SqliteConnection c, long projectId, ProjectLimits l, SqliteTransaction tx) =>
        c.Execute("UPDATE projects SET memory_mb = @MemoryMb, nano_cpus = @NanoCpus, pids_limit = @PidsLimit WHERE id = @projectId",
            new { projectId, l.MemoryMb, l.NanoCpus, l.PidsLimit }, tx);

    /// <summary>
    /// The limits the form asks for (a null field keeps <paramref name="current"/>, an empty one means the panel's
    /// setting), or null with a message per field (memoryMb, cpus, pidsLimit) in <paramref name="errors"/>.
    /// </summary>
    public static ProjectLimits? FromForm(ProjectForm f, ProjectLimits current, bool isAdmin, Dictionary<string, string> errors)
    {
        var before = errors.Count;
        long? memory = current.MemoryMb, nano = current.NanoCpus, pids = current.PidsLimit;
        if (f.MemoryMb is { } m && m != current.MemoryText)
        {
            if (m == "") memory = null;
            else if (long.TryParse(m, NumberStyles.None, CultureInfo.InvariantCulture, out var v) && v is >= MinMemoryMb and <= MaxMemoryMb) memory = v;
            else errors["memoryMb"] = $"Enter the memory limit in MiB, a whole number from {MinMemoryMb} to {MaxMemoryMb}, or leave it empty for the panel's default.";
        }
        if (f.Cpus is { } cp && cp != current.CpusText)
        {
            var cpus = Environment.ProcessorCount;
            if (cp == "") nano = null;
            else if (PanelSettings.ParseCpus(cp) is { } n && n <= cpus * 1_000_000_000L) nano = n;
            else errors["cpus"] = $"Enter the CPU limit as a number from 0.01 to {cpus} (this machine has {cpus} CPUs) with at most two decimals, e.g. 0.5, or leave it empty for the panel's default.";
        }
        if (f.PidsLimit is { } p && p != current.PidsText)
        {
            if (p == "") pids = null;
            else if (long.TryParse(p, NumberStyles.None, CultureInfo.InvariantCulture, out var v) && v is >= MinPids and <= MaxPids) pids = v;
            else errors["pidsLimit"] = $"Enter the process limit, a whole number from {MinPids} to {MaxPids}, or leave it empty for the panel's default.";
        }
        var wanted = new ProjectLimits(memory, nano, pids);
        if (!isAdmin && wanted != current)
            foreach (var (field, changed) in new[] { ("memoryMb", memory != current.MemoryMb), ("cpus", nano != current.NanoCpus), ("pidsLimit", pids != current.PidsLimit) })
                if (changed) errors[field] = "Only an admin can change a project's limits.";
        return errors.Count == before ? wanted : null;
    }
}
