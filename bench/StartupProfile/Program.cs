// Writes a crossgen2 profile (.mibc) from an EventPipe trace of the panel's start.
//
//   StartupProfile LINKED_DIR OUT.mibc TRACE.nettrace UNTIL_MS [TRACE.nettrace UNTIL_MS ...]
//
// LINKED_DIR: the trimmed assemblies the published binary was made of (obj/Release/net10.0/linux-x64/linked), because
// the trace names methods by metadata token in those. Each TRACE: the runtime's JIT and loader events
// (Microsoft-Windows-DotNETRuntime, keywords 0x4000080018: loader, JIT, types, method details; level 5) of one start
// of the published binary; UNTIL_MS: when that
// start answered its first 200 on /healthz, in ms after the process began (later compiles are left out: the background
// services that start after the first answer, and the shutdown at the end of the recording). The profile is the union
// of all traces: a second start of a binary built with the first profile shows what is still compiled at run time
// (small methods that the JIT inlined everywhere, and so never compiled alone, but ahead-of-time code calls).
//
// Why: the panel runs with tiered compilation off (memory first), so each of the ~7,500 methods compiled before the
// first answer is compiled fully optimized, and start-up took 4 s against a 1 s target (issue 20). ReadyToRun of
// whole assemblies would fix that but adds ~37 MB to a binary that has 0.8 MB of room. crossgen2's --partial mode
// compiles only the methods a profile names; dotnet-pgo, the tool that writes such profiles, is not served here, so
// this is our own small writer of the format crossgen2 reads (ILCompiler.IBC.MIbcProfileParser): a .NET assembly
// whose global method "AssemblyDictionary" holds, per defining assembly, `ldstr "<assembly name>"; ldtoken <group
// method>; pop`, and each group method holds `ldtoken <method>; pop` per profiled method. Methods are referenced by
// name and signature (MemberRefs), so a profile that is a little stale only misses what changed: crossgen2 skips
// references it cannot resolve. Instantiations of generic methods (Enumerable.Select<TSource, TResult>,
// FrozenDictionary.CreateFromDictionary<TKey, TValue>, AsyncTaskMethodBuilder.AwaitUnsafeOnCompleted<TAwaiter>...)
// are MethodSpecs over those references, with the type arguments the trace's MethodDetails and BulkType events give;
// without them ~700 methods (a third of the JIT time left at start) stayed JIT-compiled.
//

using System.Collections.Immutable;
using System.Reflection;
using System.Reflection.Metadata;
using System.Reflection.Metadata.Ecma335;
using System.Reflection.PortableExecutable;
using System.Security.Cryptography;
using Microsoft.Diagnostics.Tracing;
using Microsoft.Diagnostics.Tracing.Parsers.Clr;

if (args.Length < 4 || args.Length % 2 != 0 || !args.Skip(3).Where((_, i) => i % 2 == 0).All(a => double.TryParse(a, out _)))
{
    Console.Error.WriteLine("usage: StartupProfile LINKED_DIR OUT.mibc TRACE.nettrace UNTIL_MS [TRACE.nettrace UNTIL_MS ...]");
    return 2;
}
var (linkedDir, outPath) = (args[0], args[1]);
var traces = Enumerable.Range(0, (args.Length - 2) / 2).Select(i => (Path: args[2 + 2 * i], UntilMs: double.Parse(args[3 + 2 * i]))).ToList();
foreach (var (path, _) in traces)
    if (!File.Exists(path)) { Console.Error.WriteLine($"no trace at {path}"); return 2; }
if (!Directory.Exists(linkedDir)) { Console.Error.WriteLine($"no assemblies at {linkedDir}"); return 2; }

// 1. The traces: which module each JIT-compiled method came from, in compile order.
var moduleNames = new Dictionary<(int Trace, long Id), string>();
var compiled = new List<(int Trace, long Module, int Token, MethodFlags Flags, long Method)>();
// The instantiations of generic methods: MethodDetails (keyword 0x4000000000) names a method's type arguments by type
// handle, and BulkType (0x80000, sent with it) says what each handle is: its module and token, or its element type.
var types = new Dictionary<(int Trace, long Id), (long Module, int Token, byte Element, string Name, long[] Args)>();
var methodArgs = new Dictionary<(int Trace, long Method), (long Owner, long[] Args)>();
for (var t = 0; t < traces.Count; t++)
{
    var (path, untilMs) = traces[t];
    var trace = t;
    using var source = new EventPipeEventSource(path);
    source.Clr.LoaderModuleLoad += e => moduleNames[(trace, e.ModuleID)] = Path.GetFileNameWithoutExtension(e.ModuleILPath);
    source.Clr.MethodLoadVerbose += e =>
    {
        if (e.TimeStampRelativeMSec <= untilMs) compiled.Add((trace, e.ModuleID, e.MethodToken, e.MethodFlags, e.MethodID));
    };
    source.Clr.TypeBulkType += e =>
    {
        for (var i = 0; i < e.Count; i++)
        {
            var v = e.Values(i);
            types.TryAdd((trace, (long)v.TypeID), ((long)v.ModuleID, v.TypeNameID, (byte)v.CorElementType, v.TypeName,
                Enumerable.Range(0, v.TypeParameterCount).Select(j => (long)v.TypeParameterID(j)).ToArray()));
        }
    };
    source.Clr.MethodMethodDetails += e =>
        methodArgs.TryAdd((trace, (long)e.MethodID), ((long)e.TypeID, Enumerable.Range(0, e.TypeParameterCount).Select(j => (long)e.TypeParameters(j)).ToArray()));
    source.Process();
}

// 2. Per assembly, the methods (first compile wins; a method compiled twice is listed once). Code of a generic
// instantiation is listed with it, from the method's MethodDetails event: its owning type, and a generic method's own
// type arguments.
var byAssembly = new Dictionary<string, List<Profiled>>();
var seen = new HashSet<(string, int, string?)>();
int genericMethods = 0, dynamicOnes = 0, unknownModule = 0;
foreach (var (trace, module, token, flags, method) in compiled)
{
    if ((flags & MethodFlags.Dynamic) != 0) { dynamicOnes++; continue; }
    string? instantiation = null;
    TraceType? owner = null;
    TraceType[]? typeArgs = null;
    if ((flags & MethodFlags.Generic) != 0)
    {
        if (methodArgs.TryGetValue((trace, method), out var details))
        {
            owner = Resolve(trace, details.Owner);
            typeArgs = details.Args.Select(a => Resolve(trace, a)).OfType<TraceType>().ToArray();
            if (owner is null || typeArgs.Length != details.Args.Length) { genericMethods++; continue; }
            instantiation = $"{owner}::<{string.Join(",", (object[])typeArgs)}>";
            // MethodDetails also comes for methods of generic types that have no type parameters of their own.
            if (typeArgs.Length == 0) typeArgs = null;
        }
        else { genericMethods++; continue; } // a trace recorded without keyword 0x4000000000 does not say it
    }
    if (!moduleNames.TryGetValue((trace, module), out var assembly)) { unknownModule++; continue; }
    if (!seen.Add((assembly, token, instantiation))) continue;
    if (!byAssembly.TryGetValue(assembly, out var list)) byAssembly[assembly] = list = [];
    list.Add(new Profiled(token, owner, typeArgs));
}

// A type handle of the trace as what it is: a type definition (module and token) with its type arguments, or an
// element type (primitives, arrays). Null when the trace did not describe it.
TraceType? Resolve(int trace, long id)
{
    if (!types.TryGetValue((trace, id), out var t)) return null;
    var typeArgs = t.Args.Select(a => Resolve(trace, a)).OfType<TraceType>().ToArray();
    if (typeArgs.Length != t.Args.Length) return null;
    moduleNames.TryGetValue((trace, t.Module), out var assembly);
    return new TraceType(assembly, t.Token, t.Element, t.Name, typeArgs);
}

// 3. The profile assembly.
var writer = new MibcWriter(linkedDir);
int written = 0, skipped = 0;
foreach (var (assembly, tokens) in byAssembly.OrderBy(p => p.Key, StringComparer.Ordinal))
{
    var (w, s) = writer.AddGroup(assembly, tokens);
    written += w; skipped += s;
}
var bytes = writer.Serialize();
File.WriteAllBytes(outPath, bytes);
Console.WriteLine($"{compiled.Count} compiles in {traces.Count} trace(s): {written} methods written for {byAssembly.Count} assemblies to {outPath} " +
    $"({bytes.Length / 1024} KB); left out: {genericMethods} generic methods, {dynamicOnes} dynamic, {skipped} not resolvable, {unknownModule} from unknown modules");
return written > 0 ? 0 : 1;

/// <summary>A method to profile: by token, and for code of a generic instantiation, the owning type and (for a generic
/// method) its type arguments as MethodDetails and BulkType describe them.</summary>
sealed record Profiled(int Token, TraceType? Owner, TraceType[]? MethodArgs);

/// <summary>A type as BulkType events describe it: CorElementType, name, defining module's assembly and token (for
/// classes and value types), type arguments (a generic instance's, or an array's element type).</summary>
sealed record TraceType(string? Assembly, int Token, byte Element, string Name, TraceType[] Args)
{
    // BulkType leaves most names empty, so a type is told apart by its token, or by its element type.
    public override string ToString()
    {
        var self = Element is 0x11 or 0x12 ? $"{Assembly}:0x{Token:x8}" : $"0x{Element:x2}";
        return Args.Length == 0 ? self : $"{self}[{string.Join(",", (object[])Args)}]";
    }
}

sealed class MibcWriter(string linkedDir)
{
    readonly MetadataBuilder _md = new();
    // The IL stream (_bodies.Builder) and the encoder that appends method bodies to it, created once: the encoder
    // checks the stream's alignment when it is made.
    readonly MethodBodyStreamEncoder _bodies = new(new BlobBuilder());
    readonly List<(string Name, int BodyOffset)> _groups = [];
    readonly Dictionary<string, AssemblyReferenceHandle> _assemblyRefs = new(StringComparer.Ordinal);
    readonly Dictionary<(EntityHandle, string, string), TypeReferenceHandle> _typeRefs = [];


    readonly Dictionary<string, InstructionEncoder> _groupCode = new(StringComparer.Ordinal);
    readonly Dictionary<string, (PEReader Pe, MetadataReader Reader)> _assemblies = new(StringComparer.Ordinal);

    MetadataReader? Reader(string assembly)
    {
        if (_assemblies.TryGetValue(assembly, out var open)) return open.Reader;
        var path = Path.Combine(linkedDir, assembly + ".dll");
        if (!File.Exists(path)) return null;
        var pe = new PEReader(File.OpenRead(path));
        if (!pe.HasMetadata) { pe.Dispose(); return null; }
        var reader = pe.GetMetadataReader();
        _assemblies[assembly] = (pe, reader);
        return reader;
    }

    /// <summary>One group per defining assembly: every listed method of it. Returns (written, skipped).</summary>
    public (int, int) AddGroup(string assembly, List<Profiled> methods)
    {
        if (Reader(assembly) is not { } reader) return (0, methods.Count);
        int written = 0, skipped = 0;
        foreach (var (token, owner, methodArgs) in methods)
        {
            if ((token >> 24) != 0x06 || (token & 0xFFFFFF) > reader.MethodDefinitions.Count) { skipped++; continue; }
            var method = reader.GetMethodDefinition(MetadataTokens.MethodDefinitionHandle(token & 0xFFFFFF));
            // The global type's methods (module initializers) cannot be named from another assembly.
            if (method.GetDeclaringType() == MetadataTokens.TypeDefinitionHandle(1)) { skipped++; continue; }
            try
            {
                var assemblies = new SortedSet<string>(StringComparer.Ordinal);
                var parent = owner is { Args.Length: > 0 } ? TypeSpec(owner, assemblies) : TypeRef(reader, assembly, method.GetDeclaringType());
                var sig = new BlobBuilder();
                var blob = reader.GetBlobReader(method.Signature);
                CopyMethodSignature(ref blob, sig, reader, assembly);
                EntityHandle member = _md.AddMemberReference(parent, _md.GetOrAddString(reader.GetString(method.Name)), _md.GetOrAddBlob(sig));
                if (methodArgs is not null)
                {
                    // A generic method's instantiation: a MethodSpec over the reference (GENERICINST, count, arguments).
                    var spec = new BlobBuilder();
                    spec.WriteByte(0x0a);
                    spec.WriteCompressedInteger(methodArgs.Length);
                    foreach (var arg in methodArgs) WriteTraceType(spec, arg, assemblies);
                    member = _md.AddMethodSpecification(member, _md.GetOrAddBlob(spec));
                }
                // The group's name lists the defining assembly first, then those of the instantiation's types:
                // crossgen2 uses a group only when all of them are in the version bubble it compiles.
                assemblies.Remove(assembly);
                var group = string.Join(';', assemblies.Prepend(assembly));
                if (!_groupCode.TryGetValue(group, out var code)) _groupCode[group] = code = new InstructionEncoder(new BlobBuilder());
                code.OpCode(ILOpCode.Ldtoken);
                code.Token(member);
                code.OpCode(ILOpCode.Pop);
                written++;
            }
            catch (NotSupportedException e)
            {
                // Listed with PROFILE_DEBUG=1: a reason here is a case this writer does not handle yet.
                skipped++;
                if (Environment.GetEnvironmentVariable("PROFILE_DEBUG") == "1") Console.Error.WriteLine($"{assembly} 0x{token:x8}: {e.Message}");
            }
        }
        return (written, skipped);
    }

    /// <summary>CLASS or VALUETYPE and the reference to the type.</summary>
    void WriteTypeDefinition(BlobBuilder b, MetadataReader reader, string assembly, TypeDefinitionHandle handle)
    {
        b.WriteByte(IsValueType(reader, reader.GetTypeDefinition(handle)) ? (byte)0x11 : (byte)0x12);
        b.WriteCompressedInteger(CodedIndex.TypeDefOrRefOrSpec(TypeRef(reader, assembly, handle)));
    }

    // When BulkType does name a primitive, string or object, it is written with its own element type, as signatures
    // spell those.
    static readonly Dictionary<string, byte> Primitives = new(StringComparer.Ordinal)
    {
        ["System.Boolean"] = 0x02, ["System.Char"] = 0x03, ["System.SByte"] = 0x04, ["System.Byte"] = 0x05,
        ["System.Int16"] = 0x06, ["System.UInt16"] = 0x07, ["System.Int32"] = 0x08, ["System.UInt32"] = 0x09,
        ["System.Int64"] = 0x0a, ["System.UInt64"] = 0x0b, ["System.Single"] = 0x0c, ["System.Double"] = 0x0d,
        ["System.String"] = 0x0e, ["System.IntPtr"] = 0x18, ["System.UIntPtr"] = 0x19, ["System.Object"] = 0x1c,
    };

    /// <summary>
    /// Shared code over reference types: crossgen2 reads System.__Canon as its canonical type only when it is
    /// referenced from the assembly "System.Private.Canon" (MIbcProfileParser's CustomCanonResolver).
    /// </summary>
    void WriteCanon(BlobBuilder b)
    {
        b.WriteByte(0x12);
        var canon = Intern(AssemblyRef("System.Private.Canon", new Version(0, 0, 0, 0)), "System", "__Canon");
        b.WriteCompressedInteger(CodedIndex.TypeDefOrRefOrSpec(canon));
    }

    EntityHandle TypeSpec(TraceType type, SortedSet<string> assemblies)
    {
        var b = new BlobBuilder();
        WriteTraceType(b, type, assemblies);
        return _md.AddTypeSpecification(_md.GetOrAddBlob(b));
    }

    /// <summary>A type as the trace described it: by element type, or by its definition's token and type arguments.</summary>
    void WriteTraceType(BlobBuilder b, TraceType t, SortedSet<string> assemblies)
    {
        if (Primitives.TryGetValue(t.Name, out var primitive)) { b.WriteByte(primitive); return; }
        // Primitives come with their element type and no name.
        if (t.Element is >= 0x02 and <= 0x0e or 0x18 or 0x19 or 0x1c) { b.WriteByte(t.Element); return; }
        switch (t.Element)
        {
            case 0x0f: case 0x10: case 0x1d: // pointer, by-ref, single-dimension array of the one argument
                if (t.Args.Length != 1) throw new NotSupportedException($"type {t}");
                b.WriteByte(t.Element);
                WriteTraceType(b, t.Args[0], assemblies);
                return;
            case 0x11: case 0x12:
                break;
            default:
                throw new NotSupportedException($"element type 0x{t.Element:x2} of {t}");
        }
        if (t.Assembly is null || Reader(t.Assembly) is not { } reader || (t.Token >> 24) != 0x02 || (t.Token & 0xFFFFFF) > reader.TypeDefinitions.Count)
            throw new NotSupportedException($"type {t} not found");
        var handle = MetadataTokens.TypeDefinitionHandle(t.Token & 0xFFFFFF);
        // BulkType names few types, so shared code's System.__Canon is known by its definition.
        if (FullName(reader, handle) == "System.__Canon") { WriteCanon(b); return; }
        assemblies.Add(t.Assembly);
        if (t.Args.Length > 0) b.WriteByte(0x15); // GENERICINST: the generic type, then its arguments
        WriteTypeDefinition(b, reader, t.Assembly, handle);
        if (t.Args.Length == 0) return;
        b.WriteCompressedInteger(t.Args.Length);
        foreach (var arg in t.Args) WriteTraceType(b, arg, assemblies);
    }

    static string FullName(MetadataReader r, TypeDefinitionHandle h)
    {
        var t = r.GetTypeDefinition(h);
        if (t.IsNested) return FullName(r, t.GetDeclaringType()) + "+" + r.GetString(t.Name);
        var ns = r.GetString(t.Namespace);
        return ns.Length == 0 ? r.GetString(t.Name) : ns + "." + r.GetString(t.Name);
    }

    static bool IsValueType(MetadataReader r, TypeDefinition t)
    {
        if (t.BaseType.IsNil) return false; // interfaces and System.Object
        var (ns, name) = t.BaseType.Kind switch
        {
            HandleKind.TypeReference => (r.GetString(r.GetTypeReference((TypeReferenceHandle)t.BaseType).Namespace), r.GetString(r.GetTypeReference((TypeReferenceHandle)t.BaseType).Name)),
            HandleKind.TypeDefinition => (r.GetString(r.GetTypeDefinition((TypeDefinitionHandle)t.BaseType).Namespace), r.GetString(r.GetTypeDefinition((TypeDefinitionHandle)t.BaseType).Name)),
            _ => ("", ""),
        };
        return ns == "System" && (name == "ValueType" || name == "Enum") && r.GetString(t.Name) != "Enum";
    }

    public byte[] Serialize()
    {
        // AssemblyDictionary: `ldstr "<assembly>"; ldtoken <group method>; pop` per group. The group methods are the
        // first method definitions, in the order they were added; AssemblyDictionary comes after them.
        foreach (var (name, code) in _groupCode.OrderBy(g => g.Key, StringComparer.Ordinal))
        {
            code.OpCode(ILOpCode.Ret);
            _groups.Add((name, _bodies.AddMethodBody(code, maxStack: 8)));
        }
        var dictionary = new InstructionEncoder(new BlobBuilder());
        for (var g = 0; g < _groups.Count; g++)
        {
            dictionary.LoadString(_md.GetOrAddUserString(_groups[g].Name));
            dictionary.OpCode(ILOpCode.Ldtoken);
            dictionary.Token(MetadataTokens.MethodDefinitionHandle(g + 1));
            dictionary.OpCode(ILOpCode.Pop);
        }
        dictionary.OpCode(ILOpCode.Ret);
        var dictionaryBody = _bodies.AddMethodBody(dictionary, maxStack: 8);

        var staticVoid = new BlobBuilder();
        new BlobEncoder(staticVoid).MethodSignature().Parameters(0, r => r.Void(), _ => { });
        var sigHandle = _md.GetOrAddBlob(staticVoid);
        var i = 0;
        foreach (var (_, offset) in _groups)
            _md.AddMethodDefinition(MethodAttributes.Public | MethodAttributes.Static, MethodImplAttributes.IL,
                _md.GetOrAddString("Group" + (i++)), sigHandle, offset, MetadataTokens.ParameterHandle(1));
        _md.AddMethodDefinition(MethodAttributes.Public | MethodAttributes.Static, MethodImplAttributes.IL,
            _md.GetOrAddString("AssemblyDictionary"), sigHandle, dictionaryBody, MetadataTokens.ParameterHandle(1));

        _md.AddModule(0, _md.GetOrAddString("startup.mibc.dll"), _md.GetOrAddGuid(Guid.Empty), default, default);
        _md.AddAssembly(_md.GetOrAddString("startup"), new Version(1, 0, 0, 0), default, default, 0, AssemblyHashAlgorithm.None);
        _md.AddTypeDefinition(0, default, _md.GetOrAddString("<Module>"), default,
            MetadataTokens.FieldDefinitionHandle(1), MetadataTokens.MethodDefinitionHandle(1));

        // Same input, same bytes: the id is a hash of the content, so a regenerated profile only differs when it should.
        var pe = new ManagedPEBuilder(PEHeaderBuilder.CreateLibraryHeader(), new MetadataRootBuilder(_md), _bodies.Builder,
            deterministicIdProvider: content => BlobContentId.FromHash(SHA256.HashData(content.SelectMany(b => b.GetBytes().ToArray()).ToArray())));
        var output = new BlobBuilder();
        pe.Serialize(output);
        return output.ToArray();
    }

    AssemblyReferenceHandle AssemblyRef(string name, Version version)
    {
        if (!_assemblyRefs.TryGetValue(name, out var h))
            _assemblyRefs[name] = h = _md.AddAssemblyReference(_md.GetOrAddString(name), version, default, default, 0, default);
        return h;
    }

    /// <summary>A type of <paramref name="reader"/>'s assembly, as a reference from the profile.</summary>
    EntityHandle TypeRef(MetadataReader reader, string assembly, TypeDefinitionHandle handle)
    {
        var type = reader.GetTypeDefinition(handle);
        EntityHandle scope = type.IsNested
            ? TypeRef(reader, assembly, type.GetDeclaringType())
            : AssemblyRef(assembly, reader.GetAssemblyDefinition().Version);
        return Intern(scope, reader.GetString(type.Namespace), reader.GetString(type.Name));
    }

    EntityHandle TypeRef(MetadataReader reader, string assembly, TypeReferenceHandle handle)
    {
        var type = reader.GetTypeReference(handle);
        EntityHandle scope = type.ResolutionScope.Kind switch
        {
            HandleKind.AssemblyReference => AssemblyRefOf(reader, (AssemblyReferenceHandle)type.ResolutionScope),
            HandleKind.TypeReference => TypeRef(reader, assembly, (TypeReferenceHandle)type.ResolutionScope),
            HandleKind.ModuleDefinition => AssemblyRef(assembly, reader.GetAssemblyDefinition().Version),
            _ => throw new NotSupportedException("type reference scoped to a module reference"),
        };
        return Intern(scope, reader.GetString(type.Namespace), reader.GetString(type.Name));
    }

    AssemblyReferenceHandle AssemblyRefOf(MetadataReader reader, AssemblyReferenceHandle h)
    {
        var r = reader.GetAssemblyReference(h);
        return AssemblyRef(reader.GetString(r.Name), r.Version);
    }

    EntityHandle Intern(EntityHandle scope, string ns, string name)
    {
        var key = (scope, ns, name);
        if (!_typeRefs.TryGetValue(key, out var h))
            _typeRefs[key] = h = _md.AddTypeReference(scope, ns.Length == 0 ? default : _md.GetOrAddString(ns), _md.GetOrAddString(name));
        return h;
    }

    // Signatures are copied element by element (ECMA-335 II.23.2); only the type tokens in them change, from the
    // source assembly's tables to the profile's own references.
    void CopyMethodSignature(ref BlobReader r, BlobBuilder b, MetadataReader reader, string assembly)
    {
        var header = r.ReadByte();
        b.WriteByte(header);
        if ((header & 0x10) != 0) b.WriteCompressedInteger(r.ReadCompressedInteger()); // generic parameter count
        var count = r.ReadCompressedInteger();
        b.WriteCompressedInteger(count);
        CopyType(ref r, b, reader, assembly); // return type
        for (var i = 0; i < count; i++) CopyType(ref r, b, reader, assembly);
    }

    void CopyType(ref BlobReader r, BlobBuilder b, MetadataReader reader, string assembly)
    {
        var element = r.ReadByte();
        b.WriteByte(element);
        switch (element)
        {
            case >= 0x01 and <= 0x0e: case 0x16: case 0x18: case 0x19: case 0x1c: // void, primitives, string, typedref, native ints, object
                return;
            case 0x0f: case 0x10: case 0x1d: case 0x45: // pointer, by-ref, single-dimension array, pinned
                CopyType(ref r, b, reader, assembly);
                return;
            case 0x11: case 0x12: // value type, class
                CopyTypeToken(ref r, b, reader, assembly);
                return;
            case 0x13: case 0x1e: // type and method generic parameters
                b.WriteCompressedInteger(r.ReadCompressedInteger());
                return;
            case 0x14: // array: element type, rank, sizes, lower bounds
            {
                CopyType(ref r, b, reader, assembly);
                b.WriteCompressedInteger(r.ReadCompressedInteger());
                var sizes = r.ReadCompressedInteger();
                b.WriteCompressedInteger(sizes);
                for (var i = 0; i < sizes; i++) b.WriteCompressedInteger(r.ReadCompressedInteger());
                var bounds = r.ReadCompressedInteger();
                b.WriteCompressedInteger(bounds);
                for (var i = 0; i < bounds; i++) b.WriteCompressedSignedInteger(r.ReadCompressedSignedInteger());
                return;
            }
            case 0x15: // generic instantiation: class or value type, the generic type, its arguments
            {
                b.WriteByte(r.ReadByte());
                CopyTypeToken(ref r, b, reader, assembly);
                var args = r.ReadCompressedInteger();
                b.WriteCompressedInteger(args);
                for (var i = 0; i < args; i++) CopyType(ref r, b, reader, assembly);
                return;
            }
            case 0x1b: // function pointer
                CopyMethodSignature(ref r, b, reader, assembly);
                return;
            case 0x1f: case 0x20: // required and optional modifiers, then the type they modify
                CopyTypeToken(ref r, b, reader, assembly);
                CopyType(ref r, b, reader, assembly);
                return;
            default:
                throw new NotSupportedException($"signature element 0x{element:x2}");
        }
    }

    void CopyTypeToken(ref BlobReader r, BlobBuilder b, MetadataReader reader, string assembly)
    {
        var handle = r.ReadTypeHandle();
        EntityHandle mapped = handle.Kind switch
        {
            HandleKind.TypeDefinition => TypeRef(reader, assembly, (TypeDefinitionHandle)handle),
            HandleKind.TypeReference => TypeRef(reader, assembly, (TypeReferenceHandle)handle),
            HandleKind.TypeSpecification => TypeSpec(reader, assembly, (TypeSpecificationHandle)handle),
            _ => throw new NotSupportedException($"type handle {handle.Kind}"),
        };
        b.WriteCompressedInteger(CodedIndex.TypeDefOrRefOrSpec(mapped));
    }

    EntityHandle TypeSpec(MetadataReader reader, string assembly, TypeSpecificationHandle handle)
    {
        var r = reader.GetBlobReader(reader.GetTypeSpecification(handle).Signature);
        var b = new BlobBuilder();
        CopyType(ref r, b, reader, assembly);
        return _md.AddTypeSpecification(_md.GetOrAddBlob(b));
    }
}
