using System.Runtime.InteropServices;

namespace VpsPanel.Features.Shared;

/// <summary>
/// Memory knobs of the process itself (issue 12, finding 10). Measured with bench/deploy.sh (BENCH_SMAPS=1,
/// BENCH_GCDUMP): after deploys the live managed heap is ~5 MB (dotnet-gcdump), yet RSS had grown by tens of MB:
/// free space the GC kept committed in its 4 MB regions, and glibc malloc arenas (one per thread that allocated,
/// up to 8 per core, each keeping its freed pages) holding ~14 MB. Nothing managed was leaking; memory that was used
/// once was kept.
/// </summary>
public static class RuntimeKnobs
{
    /// <summary>
    /// At server start: at most two malloc arenas. The panel has ~20 threads that mostly wait; with an arena each,
    /// freed native memory (SQLite, TLS, process pipes) is spread over many arenas and stays resident in each.
    /// Same effect as MALLOC_ARENA_MAX=2, which a single-file binary cannot set for itself before it starts.
    /// </summary>
    public static void LimitMallocArenas()
    {
        if (!OperatingSystem.IsLinux()) return;
        try { mallopt(MArenaMax, 2); }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException) { } // not glibc (musl): no arenas to limit
    }

    const int MArenaMax = -8;

    [DllImport("libc")]
    static extern int mallopt(int param, int value);

    static long _lastRequestAt, _lastTrimAt;
    static int _usedSinceTrim;

    /// <summary>Every request marks the panel used (one write; see <see cref="TrimWhenIdle"/>).</summary>
    public static void MarkRequest()
    {
        Volatile.Write(ref _lastRequestAt, Environment.TickCount64);
        Volatile.Write(ref _usedSinceTrim, 1);
    }

    /// <summary>
    /// Called by the deploy worker whenever no deploy runs or drains (after each one, and every few seconds): gives
    /// memory back (<see cref="ReturnFreeMemory"/>) once per stretch of use, when it has ended. Before, the worker
    /// trimmed at the end of every deploy, which under a stream of quickly failing deploys (a webhook flood) was a
    /// full collection, a malloc_trim and a page-out of the binary several times a second; and memory touched by page
    /// views alone (start-up's first requests included) was never given back at all: an idle panel stayed at its
    /// start-up peak (bench/run.sh, measurement 4). Requests count as use once no request came for
    /// <see cref="RequestsQuietFor"/>; at most one trim per <see cref="TrimGap"/>.
    /// </summary>
    public static void TrimWhenIdle(bool deployEnded)
    {
        var now = Environment.TickCount64;
        if (!deployEnded && Volatile.Read(ref _usedSinceTrim) == 0) return;
        if (now - Volatile.Read(ref _lastRequestAt) < RequestsQuietFor && !deployEnded) return;
        if (now - Volatile.Read(ref _lastTrimAt) < TrimGap) { if (deployEnded) Volatile.Write(ref _usedSinceTrim, 1); return; }
        Volatile.Write(ref _usedSinceTrim, 0);
        Volatile.Write(ref _lastTrimAt, now);
        ReturnFreeMemory();
    }

    /// <summary>
    /// Milliseconds without a request before page views count as ended: longer than a pause between clicks, so that
    /// someone using the panel is not made to fault back in, page by page, what the trim paged out.
    /// </summary>
    const long RequestsQuietFor = 10_000;
    /// <summary>Milliseconds between two trims at least: a trim costs a few ms of CPU and refaults what is still used.</summary>
    const long TrimGap = 2_000;

    /// <summary>
    /// After a burst of work: a full compacting collection that also decommits the GC's free space (Aggressive), then
    /// glibc's malloc_trim, which hands the free pages of every malloc arena (SQLite, TLS, process pipes) back to the
    /// kernel. A few milliseconds on a heap of a few MB; call it when the panel goes idle, not per request.
    /// </summary>
    public static void ReturnFreeMemory()
    {
        GC.Collect(2, GCCollectionMode.Aggressive, blocking: true, compacting: true);
        // Native memory held by managed objects is freed by their finalizers, which run on the finalizer thread after
        // the collection: trimming before they ran missed it. Start-up leaves ~10 MB of it (heaptrack: the native heap
        // fell from 19 to 4 MB only after this collection), and the race between the two made idle RSS bimodal
        // (issue 20, measurement 4: 66-69 or 77-83 MB for the same binary, the difference one malloc arena).
        GC.WaitForPendingFinalizers();
        if (!OperatingSystem.IsLinux()) return;
        try { malloc_trim(0); }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException) { } // not glibc (musl): nothing to trim
        PageOutOwnBinary();
    }

    /// <summary>
    /// The single-file binary is mapped whole, and after start-up and a deploy ~40 MB of its pages are resident in the
    /// panel (RssFile), most of them read once (bundle headers, assemblies' metadata, code run only at start). They are
    /// clean pages of a read-only file mapping: MADV_PAGEOUT (Linux 5.4+) drops them from this process's resident set
    /// now, as memory pressure would later, and the few still used come back from the page cache on their next touch.
    /// Only read-only mappings of our own file; anything else (heap, JIT code, writable data) is left alone. A kernel
    /// without MADV_PAGEOUT answers EINVAL and nothing changes.
    /// The start-up code compiled ahead of time (ReadyToRun, VpsPanel.csproj) is mapped twice: inside the whole-file
    /// shared mapping the bundle is read through, and again as the loaded image. MADV_PAGEOUT skips a page mapped more
    /// than once, so those pages stayed resident (bench/run.sh idle RSS 65 -> 76 MB with private dirty down). The
    /// shared read-only mappings are unmapped first (MADV_DONTNEED: a shared file mapping holds no private data, the
    /// page cache keeps the bytes and the next touch maps them again), then every read-only mapping is paged out.
    /// </summary>
    static void PageOutOwnBinary()
    {
        if (!OperatingSystem.IsLinux() || Environment.ProcessPath is not { } self) return;
        try
        {
            var ranges = new List<(nuint Start, nuint Length, bool Shared)>();
            foreach (var line in File.ReadLines("/proc/self/maps"))
            {
                // "start-end perms offset dev inode path"
                var parts = line.Split(' ', 6, StringSplitOptions.RemoveEmptyEntries);
                if (parts.Length < 6 || parts[5].Trim() != self || parts[1].Contains('w')) continue;
                var range = parts[0].Split('-');
                var start = nuint.Parse(range[0], System.Globalization.NumberStyles.HexNumber);
                var end = nuint.Parse(range[1], System.Globalization.NumberStyles.HexNumber);
                ranges.Add((start, end - start, parts[1].Contains('s')));
            }
            foreach (var (start, length, shared) in ranges)
                if (shared) madvise(start, length, MadvDontneed);
            foreach (var (start, length, _) in ranges)
                madvise(start, length, MadvPageout);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException or OverflowException or EntryPointNotFoundException or DllNotFoundException) { }
    }

    const int MadvDontneed = 4;
    const int MadvPageout = 21;

    [DllImport("libc", SetLastError = true)]
    static extern int madvise(nuint addr, nuint length, int advice);

    [DllImport("libc")]
    static extern int malloc_trim(nuint pad);
}
