using Microsoft.AspNetCore.DataProtection;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;
using VpsPanel.Features.Auth;
using VpsPanel.Features.Data;
using VpsPanel.Features.Docker;
using VpsPanel.Features.Settings;

namespace VpsPanel.Features.Services;

/// <summary>
/// /services/{name}/dumps: the dumps card alone, and the actions of the card shown on the service's page: make a dump,
/// download one, restore one (the page asks to confirm), and the schedule. The work is in <see cref="ServiceDumps"/>
/// and <see cref="RestoreDump"/>, shared with the API.
/// </summary>
public sealed class DumpsModel(Db db, DockerEngine engine, IDataProtectionProvider protection, PanelSettings settings, ILogger<DumpJob> log) : PageModel
{
    public DumpsSection? Section { get; private set; }

    ServiceRow? Find(string name)
    {
        using var c = db.Open();
        return ServiceStore.FindServiceByNameVisibleTo(c, name, User.UserId(), User.IsAdmin());
    }

    public IActionResult OnGet(string name)
    {
        if (Find(name) is not { } s) return NotFound();
        Section = DumpsSection.Load(db, s);
        return Page();
    }

    /// <summary>The list alone, for the htmx refresh while a dump runs.</summary>
    public IActionResult OnGetList(string name) => Find(name) is { } s ? Partial("_DumpList", DumpsSection.Load(db, s)) : NotFound();

    public IActionResult OnGetDownload(string name, long id)
    {
        if (Find(name) is not { } s) return NotFound();
        using var c = db.Open();
        if (ServiceDumps.FindDumpOfService(c, s.Id, id) is not { Status: "ok", File: { } file }) return NotFound();
        Audit.AuditLog.Record(c, HttpContext, "service.dump.download", s.Name, $"dump {id} ({file})");
        return PhysicalFile(Path.Combine(ServiceDumps.Dir(settings, s.Name), file), "application/octet-stream", $"{s.Name}-{file}");
    }

    public IActionResult OnPostMake(string name)
    {
        if (Find(name) is not { } s) return NotFound();
        var id = ServiceDumps.Start(db, engine, protection, settings, s, "manual", log);
        Audit.AuditLog.Record(HttpContext, "service.dump", s.Name, $"dump {id}");
        return Shared.PostRedirect.To(HttpContext, $"/services/{s.Name}?dumps=started#dumps");
    }

    public async Task<IActionResult> OnPostRestoreAsync(string name, long id, CancellationToken ct)
    {
        if (Find(name) is not { } s) return NotFound();
        DumpRow? d;
        using (var c = db.Open()) d = ServiceDumps.FindDumpVisibleTo(c, id, User.UserId(), User.IsAdmin());
        if (d is null) return Fail(s, "restore", $"there is no dump {id} you can see");
        if (await RestoreDump.RunAsync(db, engine, protection, settings, s, d, ct) is { } problem) return Fail(s, "restore", problem);
        Audit.AuditLog.Record(HttpContext, "service.dump.restore", s.Name, $"dump {id} of {d.ServiceName} ({d.File})");
        return Shared.PostRedirect.To(HttpContext, $"/services/{s.Name}?dumps=restored#dumps");
    }

    public IActionResult OnPostSchedule(string name, string? schedule, long? keep)
    {
        if (Find(name) is not { } s) return NotFound();
        if (ServiceDumps.ScheduleProblems(schedule, keep) is { Count: > 0 } errors)
        {
            Section = DumpsSection.Load(db, s) with { Schedule = schedule ?? "", Errors = errors };
            Response.StatusCode = StatusCodes.Status422UnprocessableEntity;
            return Page();
        }
        using var c = db.Open();
        var before = ServiceDumps.ScheduleOf(c, s.Id);
        ServiceDumps.UpdateSchedule(c, s.Id, schedule?.Trim() ?? "", keep!.Value);
        Audit.AuditLog.Record(c, HttpContext, "service.dump.schedule", s.Name, $"\"{before.Schedule}\" keep {before.Keep} -> \"{schedule?.Trim()}\" keep {keep}");
        return Shared.PostRedirect.To(HttpContext, $"/services/{s.Name}?dumps=schedule#dumps");
    }

    IActionResult Fail(ServiceRow s, string field, string problem)
    {
        Section = DumpsSection.Load(db, s) with { Errors = new() { [field] = problem } };
        Response.StatusCode = StatusCodes.Status422UnprocessableEntity;
        return Page();
    }
}
