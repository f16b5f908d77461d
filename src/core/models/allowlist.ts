import { createHash } from 'node:crypto';

/**
 * What a pickle may import. An allowlist, not a blocklist: an import is allowed only when it is
 * known to be needed by the model libraries mlreg serves (scikit-learn, NumPy, SciPy, XGBoost,
 * LightGBM, CatBoost, pandas, joblib, and PyTorch's tensor rebuilding) and harmless to call with any
 * arguments; everything else is unknown and refused until a user allows it by name. A dangerous
 * list (picklescan's and modelscan's, and more) only sharpens the message: a dangerous import is
 * refused even when a user's allowlist names it, so only `--unsafe` can let it through.
 */

export type Verdict = 'allowed' | 'dangerous' | 'unknown';

export interface Classification {
  verdict: Verdict;
  why: string;
}

/** Bump when the built-in lists change: recorded with each scan, so `scan --all` can tell. */
export const ALLOWLIST_VERSION = 1;

/** Whole modules (and their submodules) that can run code, touch files or the network, or load pickles. */
const DANGEROUS_MODULES: Record<string, string> = {
  os: 'runs commands and touches files',
  posix: 'os under another name: runs commands',
  nt: 'os under another name (Windows): runs commands',
  subprocess: 'runs commands',
  sys: 'changes the interpreter (modules, paths, hooks)',
  runpy: 'runs Python code',
  socket: 'opens network connections',
  ssl: 'opens network connections',
  pty: 'spawns a shell',
  shutil: 'copies, moves and deletes files',
  webbrowser: 'opens URLs (and through them, programs)',
  importlib: 'imports any module',
  pickle: 'loads a nested pickle (or imports by name)',
  _pickle: 'loads a nested pickle',
  cPickle: 'loads a nested pickle',
  dill: 'loads pickles and code objects',
  cloudpickle: 'rebuilds functions from code',
  marshal: 'loads Python bytecode',
  ctypes: 'calls native code and writes raw memory',
  code: 'runs Python code',
  codeop: 'compiles Python code',
  commands: 'runs commands (Python 2)',
  popen2: 'runs commands (Python 2)',
  platform: 'runs commands to probe the system',
  asyncio: 'runs subprocesses and network I/O',
  aiohttp: 'network I/O',
  httplib: 'network I/O',
  http: 'network I/O',
  urllib: 'network I/O',
  urllib2: 'network I/O',
  requests: 'network I/O',
  ftplib: 'network I/O',
  smtplib: 'network I/O',
  telnetlib: 'network I/O',
  xmlrpc: 'network I/O',
  multiprocessing: 'starts processes',
  bdb: 'debugger: runs code',
  pdb: 'debugger: runs code',
  trace: 'runs code',
  timeit: 'runs code',
  cProfile: 'runs code',
  profile: 'runs code',
  doctest: 'runs code',
  pydoc: 'imports by name and runs pagers',
  pip: 'installs packages',
  ensurepip: 'installs packages',
  venv: 'creates environments, runs commands',
  distutils: 'writes files, runs compilers',
  setuptools: 'runs build commands',
  tempfile: 'creates files',
  glob: 'lists files',
  io: 'opens files',
  _io: 'opens files',
  fileinput: 'opens files',
  signal: 'changes signal handlers',
  threading: 'starts threads',
  _thread: 'starts threads',
  gc: 'reaches every live object',
  inspect: 'reaches frames and code',
  types: 'builds functions and code objects',
  zipimport: 'imports code from archives',
  imp: 'imports any module',
  pkgutil: 'resolves and imports any name',
  builtins: 'see the name',
  __builtin__: 'see the name',
  torch: 'see the name',
  numpy: 'see the name',
  'numpy.f2py': 'calls eval on strings',
  'numpy.testing': 'runstring() is exec',
  'numpy.distutils': 'runs compilers',
  'numpy.ctypeslib': 'loads native libraries',
  'numpy.lib.npyio': 'numpy.load can load pickles',
  'torch.serialization': 'torch.load loads another pickle',
  'torch._inductor': 'compiles and runs code',
  'torch.utils.collect_env': 'runs commands',
  'torch.jit': 'runs TorchScript',
  'sklearn.utils._testing': 'runs Python scripts',
  'sklearn.datasets': 'downloads and writes files',
  'joblib.parallel': 'starts processes',
  'pandas.io': 'reads files (read_pickle loads another pickle)',
  'pandas.core.computation': 'evaluates expression strings',
};

/** Single names: in modules that are otherwise fine, or in the interpreter's builtins. */
const DANGEROUS_NAMES: Record<string, string> = {
  'builtins.eval': 'evaluates a string as Python',
  'builtins.exec': 'executes a string as Python',
  'builtins.compile': 'compiles Python code',
  'builtins.open': 'opens any file',
  'builtins.getattr': 'reaches any attribute (getattr(module, "system"))',
  'builtins.setattr': 'changes any attribute',
  'builtins.delattr': 'deletes any attribute',
  'builtins.__import__': 'imports any module',
  'builtins.input': 'reads from the terminal',
  'builtins.breakpoint': 'starts a debugger',
  'builtins.apply': 'calls anything (Python 2)',
  'builtins.execfile': 'runs a file (Python 2)',
  'builtins.globals': 'reaches the module namespace',
  'builtins.locals': 'reaches the caller namespace',
  'builtins.vars': 'reaches any namespace',
  'builtins.memoryview': 'exposes raw memory',
  'builtins.type': 'builds classes',
  'builtins.super': 'reaches methods of any class',
  'operator.attrgetter': 'reaches any attribute (attrgetter("system")(os))',
  'operator.itemgetter': 'reaches any item of an object it is handed',
  'operator.methodcaller': 'calls any method by name',
  'functools.partial': 'binds arguments to any callable (partial(os.system, ...))',
  'functools.reduce': 'calls any callable repeatedly',
  'copyreg._reconstructor.__call__': 'calls through the reconstructor',
  'pkgutil.resolve_name': 'imports any module by name',
  'collections._collections_abc': 'internal ABC machinery',
  'numpy.load': 'loads a pickle from a file',
  'numpy.fromfile': 'reads any file',
  'numpy.memmap': 'maps any file',
  'numpy.save': 'writes files',
  'numpy.savetxt': 'writes files',
  'joblib.load': 'loads another pickle',
  'joblib.dump': 'writes files',
  'torch.load': 'loads another pickle',
  'torch.storage._load_from_bytes': 'loads another pickle (torch.load)',
  'pandas.read_pickle': 'loads another pickle',
  'pandas.eval': 'evaluates an expression string',
  'pandas.core.computation.eval.eval': 'evaluates an expression string',
  'scipy.io.loadmat': 'reads files',
};

/**
 * Exactly the imports plain model pickles make. Classes (CamelCase) of the scikit-learn, SciPy and
 * gradient-boosting packages are matched by module prefix (see PREFIX_CLASSES): their constructors
 * and __setstate__ only store values.
 */
const ALLOWED_NAMES = new Set([
  // Python builtins and stdlib containers
  'builtins.set',
  'builtins.frozenset',
  'builtins.list',
  'builtins.dict',
  'builtins.tuple',
  'builtins.slice',
  'builtins.range',
  'builtins.complex',
  'builtins.bytes',
  'builtins.bytearray',
  'builtins.int',
  'builtins.float',
  'builtins.str',
  'builtins.bool',
  'builtins.object',
  'copyreg._reconstructor',
  'copy_reg._reconstructor',
  '_codecs.encode',
  'collections.OrderedDict',
  'collections.defaultdict',
  'collections.Counter',
  'collections.deque',
  'datetime.datetime',
  'datetime.date',
  'datetime.time',
  'datetime.timedelta',
  'datetime.timezone',
  'decimal.Decimal',
  'fractions.Fraction',
  'uuid.UUID',
  'pathlib.PosixPath',
  'pathlib.WindowsPath',
  'pathlib.PurePosixPath',
  'pathlib.PureWindowsPath',
  'enum.Enum',
  // NumPy
  'numpy.ndarray',
  'numpy.dtype',
  'numpy.core.multiarray._reconstruct',
  'numpy.core.multiarray.scalar',
  'numpy._core.multiarray._reconstruct',
  'numpy._core.multiarray.scalar',
  'numpy.core.numeric._frombuffer',
  'numpy._core.numeric._frombuffer',
  'numpy.ma.core._mareconstruct',
  'numpy.ma.core.MaskedArray',
  'numpy.random._pickle.__randomstate_ctor',
  'numpy.random._pickle.__generator_ctor',
  'numpy.random._pickle.__bit_generator_ctor',
  'numpy.random.mtrand.RandomState',
  'numpy.random._mt19937.MT19937',
  'numpy.random._pcg64.PCG64',
  'numpy.random._generator.Generator',
  ...[
    'float16',
    'float32',
    'float64',
    'longdouble',
    'complex64',
    'complex128',
    'int8',
    'int16',
    'int32',
    'int64',
    'uint8',
    'uint16',
    'uint32',
    'uint64',
    'intc',
    'intp',
    'bool_',
    'object_',
    'str_',
    'bytes_',
    'datetime64',
    'timedelta64',
    'float_',
    'int_',
    'bool8',
  ].map((t) => `numpy.${t}`),
  // joblib
  'joblib.numpy_pickle.NumpyArrayWrapper',
  'joblib.numpy_pickle.NDArrayWrapper',
  'joblib.numpy_pickle.ZNDArrayWrapper',
  'sklearn.externals.joblib.numpy_pickle.NumpyArrayWrapper',
  'sklearn.externals.joblib.numpy_pickle.NDArrayWrapper',
  // scikit-learn helpers that are functions, not classes
  'sklearn.tree._tree._dtype_dict_with_modified_bitness',
  'sklearn.ensemble._hist_gradient_boosting.common.X_BINNED_DTYPE',
  'sklearn.metrics._scorer._passthrough_scorer',
  'sklearn.metrics._scorer._PredictScorer',
  // pandas
  'pandas.core.indexes.base._new_Index',
  'pandas._libs.internals._unpickle_block',
  'pandas.core.internals.blocks.new_block',
  'pandas.core.internals.blocks._unpickle_block',
  'pandas._libs.tslibs.timestamps._unpickle_timestamp',
  'pandas._libs.tslibs.timedeltas._timedelta_unpickle',
  'pandas._libs.tslibs.nattype.__nat_unpickle',
  'pandas.core.arrays.categorical._recode_for_categories',
  // PyTorch tensors (the state dict of a checkpoint)
  'torch._utils._rebuild_tensor',
  'torch._utils._rebuild_tensor_v2',
  'torch._utils._rebuild_parameter',
  'torch._utils._rebuild_parameter_with_state',
  'torch.FloatStorage',
  'torch.DoubleStorage',
  'torch.HalfStorage',
  'torch.BFloat16Storage',
  'torch.LongStorage',
  'torch.IntStorage',
  'torch.ShortStorage',
  'torch.CharStorage',
  'torch.ByteStorage',
  'torch.BoolStorage',
  'torch.ComplexFloatStorage',
  'torch.ComplexDoubleStorage',
  'torch.storage.UntypedStorage',
  'torch.float32',
  'torch.float64',
  'torch.float16',
  'torch.bfloat16',
  'torch.int64',
  'torch.int32',
  'torch.int8',
  'torch.uint8',
  'torch.bool',
  'torch.Size',
]);

/** Modules whose classes (CamelCase names) are allowed, with their submodules. */
const PREFIX_CLASSES = [
  'sklearn',
  'scipy.sparse',
  'scipy.stats',
  'scipy.interpolate',
  'scipy.spatial',
  'xgboost',
  'lightgbm',
  'catboost',
  'pandas.core',
  'pandas._libs',
];

/** Python 2 and old protocols spell builtins `__builtin__`; pickle maps a few stdlib names too. */
function canonicalModule(module: string): string {
  if (module === '__builtin__') return 'builtins';
  if (module === 'copy_reg') return 'copyreg';
  return module;
}

function inModule(module: string, root: string): boolean {
  return module === root || module.startsWith(`${root}.`);
}

export class Allowlist {
  readonly extra: readonly string[];
  readonly digest: string;

  /** `extra`: names the user allows (`--allow-import`, `scan.allow`), as module.Name. */
  constructor(extra: readonly string[] = []) {
    this.extra = [...new Set(extra)].sort();
    this.digest = createHash('sha256')
      .update(JSON.stringify({ version: ALLOWLIST_VERSION, extra: this.extra }))
      .digest('hex');
  }

  classify(rawModule: string, name: string): Classification {
    const module = canonicalModule(rawModule);
    const full = `${module}.${name}`;
    // A module or name that is not a Python identifier cannot be imported: the load would fail there.
    const ident = /^[A-Za-z_][A-Za-z0-9_]*$/;
    if (!module.split('.').every((p) => ident.test(p)))
      return { verdict: 'unknown', why: 'not a valid Python module name' };
    if (!ident.test(name)) {
      // Protocol 4 resolves Outer.attr through getattr: a way to reach anything hanging off a class.
      if (name.split('.').every((p) => ident.test(p)))
        return { verdict: 'dangerous', why: 'a dotted name reaches an attribute of an attribute' };
      return { verdict: 'unknown', why: 'not a valid Python name' };
    }
    const named = DANGEROUS_NAMES[full];
    if (named) return { verdict: 'dangerous', why: named };
    for (const [root, why] of Object.entries(DANGEROUS_MODULES)) {
      if (!inModule(module, root)) continue;
      // Roots whose danger depends on the name (builtins, numpy, torch) are settled below.
      if (why === 'see the name') continue;
      return { verdict: 'dangerous', why: `${root}: ${why}` };
    }
    if (ALLOWED_NAMES.has(full)) return { verdict: 'allowed', why: 'on the built-in allowlist' };
    if (this.extra.includes(full) || this.extra.includes(`${module}.*`))
      return { verdict: 'allowed', why: 'allowed by the user (--allow-import or scan.allow)' };
    if (module === 'builtins') return { verdict: 'dangerous', why: 'a builtin that is not a plain data type' };
    if (PREFIX_CLASSES.some((p) => inModule(module, p))) {
      if (/^_?[A-Z][A-Za-z0-9_]*$/.test(name))
        return { verdict: 'allowed', why: 'a class of an allowed model library' };
      // Cython's pickle support: __pyx_unpickle_<Class> checks a layout checksum and sets the state;
      // newObj(cls) is cls.__new__(cls). Both only build instances of (separately classified) classes.
      if (/^__pyx_unpickle_[A-Za-z0-9_]+$/.test(name) || name === 'newObj')
        return { verdict: 'allowed', why: 'Cython pickle support of an allowed model library' };
    }
    return { verdict: 'unknown', why: 'not on the allowlist' };
  }
}

/** `--allow-import` and `scan.allow` entries: module.Name or module.* with Python identifiers. */
export function isAllowEntry(s: string): boolean {
  return /^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*\.([A-Za-z_][A-Za-z0-9_]*|\*)$/.test(s);
}
