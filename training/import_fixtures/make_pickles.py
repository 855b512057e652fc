"""Builds the small checkpoint pickles the importer is tested on (tests/fixtures/pickles/).

The pickles have the structure of NVIDIA's training snapshots, made with this file's own code only:
  - PyTorch era: a dict {G, D, G_ema, augment_pipe, training_set_kwargs}; every network is a
    persistent-class record (torch_utils.persistence._reconstruct_persistent_obj(meta)) whose meta holds
    type 'class', version 6, module_src (the text of THIS file), class_name and state (the nn.Module
    __dict__: _parameters, _buffers, _modules, _init_args, _init_kwargs, attributes). The tensors are real
    torch tensors, so torch writes genuine _rebuild_tensor_v2 / _rebuild_parameter / _load_from_bytes
    storage streams.
  - TensorFlow era: a tuple (G, D, Gs) of dnnlib.tflib.network.Network objects whose state carries
    static_kwargs, components and variables [(name, numpy array)].
The modules torch_utils.persistence, dnnlib.util and dnnlib.tflib.network are stand-ins installed here so
pickle can name them; unpickling these files with Python needs the real ones.

Next to each pickle, NAME.expected.safetensors holds the G_ema state dict as the importer must write it
(official names, F32), for the tests to compare values against. Two pickles instead hold EXACTLY the weights
of the official-code parity fixtures (tests/fixtures/stylegan2/<fixture>/model.safetensors, made by
training/reference/stylegan2_reference.py), so the whole chain pickle -> import -> engine render can be
compared with the official generator's outputs stored there; their expected state dict is that model file.

Run: /usr/bin/python3 training/import_fixtures/make_pickles.py [OUT_DIR]   (default tests/fixtures/pickles)
Pass --large OUT.pkl [CHANNEL_MAX] to build one large SG2 snapshot for memory measurements: 512 px, G + G_ema,
FFHQ widths (channel_max 512: 245 MB; 1024: about 4x the parameters).
"""
import collections
import copy
import io
import os
import pickle
import sys
import types

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, '..', 'stylegan2'))
import safetensors_io  # noqa: E402

with open(os.path.abspath(__file__), encoding='utf-8') as _f:
    MODULE_SRC = _f.read()

# ---------------------------------------------------------------- stand-in modules pickle refers to by name


def _install_module(name):
    mod = types.ModuleType(name)
    sys.modules[name] = mod
    parent, _, child = name.rpartition('.')
    if parent:
        setattr(sys.modules[parent], child, mod)
    return mod


for _name in ['torch_utils', 'torch_utils.persistence', 'dnnlib', 'dnnlib.util', 'dnnlib.tflib', 'dnnlib.tflib.network']:
    _install_module(_name)


def _reconstruct_persistent_obj(meta):
    raise RuntimeError('the fixture maker only writes pickles')


_reconstruct_persistent_obj.__module__ = 'torch_utils.persistence'
sys.modules['torch_utils.persistence']._reconstruct_persistent_obj = _reconstruct_persistent_obj


class EasyDict(dict):
    def __getattr__(self, name):
        try:
            return self[name]
        except KeyError:
            raise AttributeError(name)

    def __setattr__(self, name, value):
        self[name] = value


EasyDict.__module__ = 'dnnlib.util'
EasyDict.__qualname__ = 'EasyDict'
sys.modules['dnnlib.util'].EasyDict = EasyDict


class Network:
    """The TensorFlow-era network object: only its pickled state matters."""

    def __init__(self, name, static_kwargs, components, variables):
        self.state = dict(version=4, name=name, static_kwargs=static_kwargs, components=components,
                          build_module_src=MODULE_SRC, build_func_name=f'{name}_fixture', variables=variables)

    def __getstate__(self):
        return self.state


Network.__module__ = 'dnnlib.tflib.network'
sys.modules['dnnlib.tflib.network'].Network = Network

# ---------------------------------------------------------------- deterministic storage streams


def _storage_key(blob):
    """The key of the one storage in a legacy torch.save stream (magic, protocol, sys info, then the object)."""
    f = io.BytesIO(blob)
    for _ in range(3):
        pickle.load(f)
    keys = []
    unpickler = pickle.Unpickler(f)
    unpickler.persistent_load = lambda pid: keys.append(pid[2])
    unpickler.load()
    return keys[0]


_torch_storage_reduce = torch.storage.TypedStorage.__reduce__
_stable_keys = {}


def _stable_storage_reduce(self):
    # torch keys a storage by its memory address; a counter of the same width makes the bytes reproducible.
    fn, (blob,) = _torch_storage_reduce(self)
    key = _storage_key(blob)
    stable = _stable_keys.setdefault(key, str(len(_stable_keys)).rjust(len(key), '0'))
    return fn, (blob.replace(key.encode(), stable.encode()),)


torch.storage.TypedStorage.__reduce__ = _stable_storage_reduce

# ---------------------------------------------------------------- persistent-class modules


def persistent(cls):
    """Like the official decorator: remembers init args and pickles as a persistent-class record."""

    class Persistent(cls):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self._init_args = copy.deepcopy(args)
            self._init_kwargs = copy.deepcopy(kwargs)

        def __reduce__(self):
            state = super().__reduce__()[2]
            meta = dict(type='class', version=6, module_src=MODULE_SRC, class_name=cls.__name__, state=state)
            return (_reconstruct_persistent_obj, (meta,), None)

    Persistent.__name__ = cls.__name__
    return Persistent


def fir():
    f = torch.tensor([1.0, 3.0, 3.0, 1.0])
    f = f[:, None] * f[None, :]
    return f / f.sum()


@persistent
class FullyConnectedLayer(torch.nn.Module):
    def __init__(self, in_features, out_features, activation='linear', lr_multiplier=1, bias_init=0):
        super().__init__()
        self.in_features, self.out_features, self.activation = in_features, out_features, activation
        self.weight = torch.nn.Parameter(torch.randn([out_features, in_features]) / lr_multiplier)
        self.bias = torch.nn.Parameter(torch.full([out_features], np.float32(bias_init)) + 0.3 * torch.randn([out_features]))
        self.weight_gain = lr_multiplier / np.sqrt(in_features)
        self.bias_gain = lr_multiplier


@persistent
class MappingNetwork(torch.nn.Module):
    def __init__(self, z_dim, c_dim, w_dim, num_ws, num_layers=8, lr_multiplier=0.01, w_avg_beta=0.995):
        super().__init__()
        self.z_dim, self.c_dim, self.w_dim, self.num_ws, self.num_layers = z_dim, c_dim, w_dim, num_ws, num_layers
        self.w_avg_beta = w_avg_beta
        if c_dim > 0:
            self.embed = FullyConnectedLayer(c_dim, w_dim)
        features = [z_dim + (w_dim if c_dim > 0 else 0)] + [w_dim] * num_layers
        for i in range(num_layers):
            setattr(self, f'fc{i}', FullyConnectedLayer(features[i], features[i + 1], activation='lrelu', lr_multiplier=lr_multiplier))
        self.register_buffer('w_avg', 0.5 * torch.randn([w_dim]))


@persistent
class SynthesisLayer(torch.nn.Module):
    def __init__(self, in_channels, out_channels, w_dim, resolution, up=1, conv_clamp=None, square=True):
        super().__init__()
        self.resolution, self.up, self.conv_clamp, self.activation = resolution, up, conv_clamp, 'lrelu'
        self.affine = FullyConnectedLayer(w_dim, in_channels, bias_init=1)
        self.weight = torch.nn.Parameter(torch.randn([out_channels, in_channels, 3, 3]))
        self.register_buffer('resample_filter', fir())
        self.register_buffer('noise_const', torch.randn([resolution, resolution if square else resolution // 2]))
        self.noise_strength = torch.nn.Parameter(0.1 * torch.randn([]))
        self.bias = torch.nn.Parameter(0.2 * torch.randn([out_channels]))


@persistent
class ToRGBLayer(torch.nn.Module):
    def __init__(self, in_channels, out_channels, w_dim, conv_clamp=None):
        super().__init__()
        self.conv_clamp = conv_clamp
        self.affine = FullyConnectedLayer(w_dim, in_channels, bias_init=1)
        self.weight = torch.nn.Parameter(torch.randn([out_channels, in_channels, 1, 1]))
        self.bias = torch.nn.Parameter(0.2 * torch.randn([out_channels]))


@persistent
class SynthesisBlock(torch.nn.Module):
    def __init__(self, in_channels, out_channels, w_dim, resolution, img_channels, is_last, use_fp16=False, conv_clamp=None, square=True):
        super().__init__()
        self.in_channels, self.resolution, self.is_last, self.use_fp16 = in_channels, resolution, is_last, use_fp16
        self.architecture = 'skip'
        self.register_buffer('resample_filter', fir())
        if in_channels == 0:
            self.const = torch.nn.Parameter(torch.randn([out_channels, resolution, resolution if square else resolution // 2]))
        else:
            self.conv0 = SynthesisLayer(in_channels, out_channels, w_dim, resolution, up=2, conv_clamp=conv_clamp, square=square)
        self.conv1 = SynthesisLayer(out_channels, out_channels, w_dim, resolution, conv_clamp=conv_clamp, square=square)
        self.torgb = ToRGBLayer(out_channels, img_channels, w_dim, conv_clamp=conv_clamp)


@persistent
class SynthesisNetwork(torch.nn.Module):
    def __init__(self, w_dim, img_resolution, img_channels, channel_base=32768, channel_max=512, num_fp16_res=0, conv_clamp=None, square=True):
        super().__init__()
        self.w_dim, self.img_resolution, self.img_channels = w_dim, img_resolution, img_channels
        self.block_resolutions = [2 ** i for i in range(2, int(np.log2(img_resolution)) + 1)]
        channels = {r: min(channel_base // r, channel_max) for r in self.block_resolutions}
        fp16_resolution = max(2 ** (int(np.log2(img_resolution)) + 1 - num_fp16_res), 8)
        self.num_ws = 0
        for r in self.block_resolutions:
            block = SynthesisBlock(channels[r // 2] if r > 4 else 0, channels[r], w_dim, r, img_channels, r == img_resolution,
                                   use_fp16=r >= fp16_resolution, conv_clamp=conv_clamp, square=square)
            self.num_ws += 1 if r == 4 else 2
            setattr(self, f'b{r}', block)


@persistent
class Generator(torch.nn.Module):
    """A StyleGAN2(-ADA) generator laid out like the official one (skip architecture)."""

    def __init__(self, z_dim, c_dim, w_dim, img_resolution, img_channels, mapping_kwargs={}, synthesis_kwargs={}, **extra):
        super().__init__()
        self.z_dim, self.c_dim, self.w_dim = z_dim, c_dim, w_dim
        self.img_resolution, self.img_channels = img_resolution, img_channels
        self.synthesis = SynthesisNetwork(w_dim, img_resolution, img_channels, **synthesis_kwargs, **extra)
        self.num_ws = 2 * int(np.log2(img_resolution)) - 2
        self.mapping = MappingNetwork(z_dim, c_dim, w_dim, self.num_ws, **mapping_kwargs)


@persistent
class DiscriminatorBlock(torch.nn.Module):
    def __init__(self, in_channels, tmp_channels, out_channels, resolution, img_channels):
        super().__init__()
        self.resolution, self.architecture = resolution, 'resnet'
        if in_channels == 0:
            self.fromrgb = Conv2dLayer(img_channels, tmp_channels, 1)
        self.conv0 = Conv2dLayer(tmp_channels, tmp_channels, 3)
        self.conv1 = Conv2dLayer(tmp_channels, out_channels, 3)
        self.skip = Conv2dLayer(tmp_channels, out_channels, 1, bias=False)
        self.register_buffer('resample_filter', fir())


@persistent
class Conv2dLayer(torch.nn.Module):
    def __init__(self, in_channels, out_channels, kernel_size, bias=True):
        super().__init__()
        self.weight = torch.nn.Parameter(torch.randn([out_channels, in_channels, kernel_size, kernel_size]))
        self.bias = torch.nn.Parameter(torch.zeros([out_channels])) if bias else None


@persistent
class DiscriminatorEpilogue(torch.nn.Module):
    def __init__(self, in_channels, resolution):
        super().__init__()
        self.conv = Conv2dLayer(in_channels + 1, in_channels, 3)
        self.fc = FullyConnectedLayer(in_channels * resolution ** 2, in_channels)
        self.out = FullyConnectedLayer(in_channels, 1)


@persistent
class Discriminator(torch.nn.Module):
    def __init__(self, c_dim, img_resolution, img_channels, channel_base=32768, channel_max=512, **kwargs):
        super().__init__()
        res = [2 ** i for i in range(int(np.log2(img_resolution)), 2, -1)]
        ch = {r: min(channel_base // r, channel_max) for r in res + [4]}
        for r in res:
            setattr(self, f'b{r}', DiscriminatorBlock(0 if r == img_resolution else ch[r], ch[r], ch[r // 2], r, img_channels))
        self.b4 = DiscriminatorEpilogue(ch[4], 4)


@persistent
class AugmentPipe(torch.nn.Module):
    def __init__(self, xflip=1, rotate90=1):
        super().__init__()
        self.register_buffer('p', torch.zeros([]))
        self.register_buffer('Hz_geom', torch.randn([12]))


# ---------------------------------------------------------------- StyleGAN3 (layout of the official SynthesisNetwork)


def kaiser_beta(atten):
    if atten > 50:
        return 0.1102 * (atten - 8.7)
    if atten > 21:
        return 0.5842 * (atten - 21) ** 0.4 + 0.07886 * (atten - 21)
    return 0.0


def lowpass(numtaps, cutoff, width, fs, radial=False):
    """Kaiser-windowed sinc (separable) or jinc (radial) low-pass; None for a single tap (no filtering)."""
    if numtaps == 1:
        return None
    beta = kaiser_beta(2.285 * (numtaps - 1) * np.pi * (width / (fs / 2)) + 7.95)
    w = np.kaiser(numtaps, beta)
    if not radial:
        c = cutoff / (fs / 2)
        m = np.arange(numtaps) - (numtaps - 1) / 2
        h = c * np.sinc(c * m) * w
        return torch.as_tensor(h / h.sum(), dtype=torch.float32)
    x = (np.arange(numtaps) - (numtaps - 1) / 2) / fs
    r = np.hypot(*np.meshgrid(x, x))
    f = torch.special.bessel_j1(torch.as_tensor(2 * cutoff * np.pi * r)).numpy() / (np.pi * r)
    f = f * np.outer(w, w)
    return torch.as_tensor(f / f.sum(), dtype=torch.float32)


@persistent
class SynthesisInput(torch.nn.Module):
    def __init__(self, w_dim, channels, size, sampling_rate, bandwidth):
        super().__init__()
        self.w_dim, self.channels = w_dim, channels
        self.size = np.broadcast_to(np.asarray(size), [2])
        self.sampling_rate, self.bandwidth = sampling_rate, bandwidth
        freqs = torch.randn([channels, 2])
        radii = freqs.square().sum(dim=1, keepdim=True).sqrt()
        freqs = freqs / (radii * radii.square().exp().pow(0.25)) * bandwidth
        self.weight = torch.nn.Parameter(torch.randn([channels, channels]))
        self.affine = FullyConnectedLayer(w_dim, 4, bias_init=0)
        self.register_buffer('transform', torch.eye(3, 3))
        self.register_buffer('freqs', freqs)
        self.register_buffer('phases', torch.rand([channels]) - 0.5)


@persistent
class SynthesisLayer3(torch.nn.Module):
    def __init__(self, w_dim, is_torgb, is_critically_sampled, in_channels, out_channels, in_size, out_size,
                 in_sampling_rate, out_sampling_rate, in_cutoff, out_cutoff, in_half_width, out_half_width,
                 conv_kernel=3, filter_size=6, lrelu_upsampling=2, use_radial_filters=False, conv_clamp=256, magnitude_ema_beta=0.999):
        super().__init__()
        self.is_torgb, self.in_channels, self.out_channels = is_torgb, in_channels, out_channels
        self.in_size = np.broadcast_to(np.asarray(in_size), [2])
        self.out_size = np.broadcast_to(np.asarray(out_size), [2])
        self.in_cutoff, self.out_cutoff = in_cutoff, out_cutoff
        tmp_rate = max(in_sampling_rate, out_sampling_rate) * (1 if is_torgb else lrelu_upsampling)
        self.conv_kernel = 1 if is_torgb else conv_kernel
        self.conv_clamp = conv_clamp
        self.affine = FullyConnectedLayer(w_dim, in_channels, bias_init=1)
        self.weight = torch.nn.Parameter(torch.randn([out_channels, in_channels, self.conv_kernel, self.conv_kernel]))
        self.bias = torch.nn.Parameter(0.2 * torch.randn([out_channels]))
        self.register_buffer('magnitude_ema', torch.ones([]) + 0.1 * torch.rand([]))
        self.up_factor = int(np.rint(tmp_rate / in_sampling_rate))
        self.up_taps = filter_size * self.up_factor if self.up_factor > 1 and not is_torgb else 1
        self.register_buffer('up_filter', lowpass(self.up_taps, in_cutoff, in_half_width * 2, tmp_rate))
        self.down_factor = int(np.rint(tmp_rate / out_sampling_rate))
        self.down_taps = filter_size * self.down_factor if self.down_factor > 1 and not is_torgb else 1
        self.down_radial = use_radial_filters and not is_critically_sampled
        self.register_buffer('down_filter', lowpass(self.down_taps, out_cutoff, out_half_width * 2, tmp_rate, self.down_radial))


SynthesisLayer3.__name__ = 'SynthesisLayer'


@persistent
class SynthesisNetwork3(torch.nn.Module):
    def __init__(self, w_dim, img_resolution, img_channels, channel_base=32768, channel_max=512, num_layers=14,
                 num_critical=2, first_cutoff=2, first_stopband=2**2.1, last_stopband_rel=2**0.3, margin_size=10,
                 output_scale=0.25, num_fp16_res=4, **layer_kwargs):
        super().__init__()
        self.w_dim, self.img_resolution, self.num_ws = w_dim, img_resolution, num_layers + 2
        last_cutoff = img_resolution / 2
        last_stopband = last_cutoff * last_stopband_rel
        exponents = np.minimum(np.arange(num_layers + 1) / (num_layers - num_critical), 1)
        cutoffs = first_cutoff * (last_cutoff / first_cutoff) ** exponents
        stopbands = first_stopband * (last_stopband / first_stopband) ** exponents
        rates = np.exp2(np.ceil(np.log2(np.minimum(stopbands * 2, img_resolution))))
        half_widths = np.maximum(stopbands, rates / 2) - cutoffs
        sizes = rates + margin_size * 2
        sizes[-2:] = img_resolution
        channels = np.rint(np.minimum((channel_base / 2) / cutoffs, channel_max))
        channels[-1] = img_channels
        self.input = SynthesisInput(w_dim, int(channels[0]), int(sizes[0]), rates[0], cutoffs[0])
        self.layer_names = []
        for i in range(num_layers + 1):
            p = max(i - 1, 0)
            layer = SynthesisLayer3(w_dim, i == num_layers, i >= num_layers - num_critical, int(channels[p]), int(channels[i]),
                                    int(sizes[p]), int(sizes[i]), int(rates[p]), int(rates[i]), cutoffs[p], cutoffs[i],
                                    half_widths[p], half_widths[i], **layer_kwargs)
            name = f'L{i}_{layer.out_size[0]}_{layer.out_channels}'
            setattr(self, name, layer)
            self.layer_names.append(name)


@persistent
class Generator3(torch.nn.Module):
    def __init__(self, z_dim, c_dim, w_dim, img_resolution, img_channels, mapping_kwargs={}, **synthesis_kwargs):
        super().__init__()
        self.z_dim, self.c_dim, self.w_dim, self.img_resolution = z_dim, c_dim, w_dim, img_resolution
        self.synthesis = SynthesisNetwork3(w_dim, img_resolution, img_channels, **synthesis_kwargs)
        self.num_ws = self.synthesis.num_ws
        self.mapping = MappingNetwork(z_dim, c_dim, w_dim, self.num_ws, **mapping_kwargs)


Generator3.__name__ = 'Generator'

# ---------------------------------------------------------------- snapshots


def state_dict(module):
    return {k: v.detach().float().numpy() for k, v in module.state_dict().items()}


def snapshot(G_kwargs, G_class=Generator, with_d=True):
    G = G_class(**G_kwargs).eval().requires_grad_(False)
    G_ema = G_class(**G_kwargs).eval().requires_grad_(False)
    G_ema.load_state_dict(G.state_dict())
    with torch.no_grad():
        for p in G_ema.parameters():
            p.add_(0.01 * torch.randn_like(p))
    # The training copy shares its constant buffers with G_ema (as they would be equal), so they are stored once.
    for (name, buf) in G.named_buffers():
        owner = G_ema.get_submodule(name.rpartition('.')[0]) if '.' in name else G_ema
        owner._buffers[name.rpartition('.')[2]] = buf
    data = dict(G=G, G_ema=G_ema, augment_pipe=AugmentPipe(xflip=1, rotate90=1),
                training_set_kwargs=EasyDict(class_name='training.dataset.ImageFolderDataset', path='~/datasets/fixture.zip',
                                             use_labels=G_kwargs['c_dim'] > 0, max_size=1000, xflip=False,
                                             resolution=G_kwargs['img_resolution']))
    if with_d:
        data['D'] = Discriminator(c_dim=G_kwargs['c_dim'], img_resolution=G_kwargs['img_resolution'], img_channels=3,
                                  channel_base=2048, channel_max=4, block_kwargs=EasyDict(), mapping_kwargs=EasyDict(),
                                  epilogue_kwargs=EasyDict(mbstd_group_size=4))
    return data, G_ema


def sg2_kwargs(res, mapping_layers, channel_base, channel_max, c_dim=0, z_dim=16, w_dim=16, **extra):
    return dict(z_dim=z_dim, w_dim=w_dim, c_dim=c_dim, img_resolution=res, img_channels=3,
                mapping_kwargs=EasyDict(num_layers=mapping_layers),
                synthesis_kwargs=EasyDict(channel_base=channel_base, channel_max=channel_max, num_fp16_res=4, conv_clamp=256), **extra)


REFERENCE_DIR = os.path.join(HERE, '..', '..', 'tests', 'fixtures', 'stylegan2')


def _owner(module, name):
    path, _, leaf = name.rpartition('.')
    return (module.get_submodule(path) if path else module), leaf


def reference_snapshot(fixture, G_kwargs, with_d):
    """A snapshot whose G_ema holds exactly the weights of the official-reference fixture `fixture`.

    The training copy G shares every tensor with G_ema except w_avg (so an importer reading G instead of
    G_ema is caught) and the file stays about the size of one network.
    """
    weights, _ = safetensors_io.load(os.path.join(REFERENCE_DIR, fixture, 'model.safetensors'))
    G_ema = Generator(**G_kwargs).eval().requires_grad_(False)
    state = G_ema.state_dict()
    extra = set(weights) - set(state)
    missing = {k for k in set(state) - set(weights) if not k.endswith('resample_filter')}
    if extra or missing:
        raise ValueError(f'{fixture}: layout differs from the reference weights: extra {sorted(extra)}, missing {sorted(missing)}')
    with torch.no_grad():
        for name, value in weights.items():
            state[name].copy_(torch.from_numpy(value.astype(np.float32)).reshape(state[name].shape))
    G = Generator(**G_kwargs).eval().requires_grad_(False)
    for name, p in G_ema.named_parameters():
        owner, leaf = _owner(G, name)
        owner._parameters[leaf] = p
    for name, b in G_ema.named_buffers():
        if name != 'mapping.w_avg':
            owner, leaf = _owner(G, name)
            owner._buffers[leaf] = b
    data, _ = snapshot(G_kwargs, with_d=with_d)
    data.update(G=G, G_ema=G_ema)
    return data, None


def unloadable_snapshot(edit):
    """A tiny snapshot whose G_ema the importer can read but the engine could not load, made so by `edit`."""
    data, G_ema = snapshot(sg2_kwargs(32, 2, 64, 4, z_dim=8, w_dim=8), with_d=False)
    with torch.no_grad():
        edit(G_ema)
    data['G'] = G_ema  # one network, stored once
    return data, None


def wrong_noise_shape(G_ema):
    G_ema.synthesis.b8.conv0._buffers['noise_const'] = torch.randn([8, 9])


def non_finite_bias(G_ema):
    G_ema.synthesis.b16.conv1.bias[1] = float('nan')


def sg3_kwargs(radial):
    kw = dict(z_dim=16, w_dim=16, c_dim=0, img_resolution=256, img_channels=3, mapping_kwargs=EasyDict(num_layers=2),
              channel_base=256, channel_max=8, magnitude_ema_beta=0.999, num_fp16_res=4, conv_clamp=256)
    if radial:
        kw.update(conv_kernel=1, channel_base=512, channel_max=16, use_radial_filters=True)
    return kw


def tf_snapshot(seed):
    """A config-f-like TensorFlow-era pickle: (G, D, Gs) Network objects with TF variable layouts."""
    rng = np.random.RandomState(seed)
    res, z, w, nmap = 128, 16, 16, 8
    ch = {r: min(1024 // r, 8) for r in [2 ** i for i in range(2, 8)]}
    f32 = lambda *shape: rng.randn(*shape).astype(np.float32)  # noqa: E731
    mapping = [(f'Dense{i}/weight', f32(z if i == 0 else w, w)) for i in range(nmap)] + [(f'Dense{i}/bias', f32(w)) for i in range(nmap)]
    synth = [('4x4/Const/const', f32(1, ch[4], 4, 4))]
    noise = 0
    for r in sorted(ch):
        convs = ['Conv'] if r == 4 else ['Conv0_up', 'Conv1']
        for c in convs:
            cin = ch[r] if c != 'Conv0_up' else ch[r // 2]
            synth += [(f'{r}x{r}/{c}/weight', f32(3, 3, cin, ch[r])), (f'{r}x{r}/{c}/mod_weight', f32(w, cin)),
                      (f'{r}x{r}/{c}/mod_bias', f32(cin)), (f'{r}x{r}/{c}/noise_strength', np.float32(rng.randn()).reshape([])),
                      (f'{r}x{r}/{c}/bias', f32(ch[r]))]
            synth.append((f'noise{noise}', f32(1, 1, r, r)))
            noise += 1
        synth += [(f'{r}x{r}/ToRGB/weight', f32(1, 1, ch[r], 3)), (f'{r}x{r}/ToRGB/mod_weight', f32(w, ch[r])),
                  (f'{r}x{r}/ToRGB/mod_bias', f32(ch[r])), (f'{r}x{r}/ToRGB/bias', f32(3))]
    static = dict(num_channels=3, resolution=res, label_size=0, latent_size=z, dlatent_size=w, fmap_base=512, fmap_max=8,
                  mapping_layers=nmap, truncation_psi=0.5)

    def generator(name):
        comps = dict(mapping=Network('G_mapping', dict(static), {}, list(mapping)),
                     synthesis=Network('G_synthesis', dict(static), {}, list(synth)))
        return Network(name, static, comps, [('dlatent_avg', f32(w)), ('lod', np.float32(0).reshape([]))])

    D = Network('D', dict(num_channels=3, resolution=res, label_size=0), {}, [('Output/weight', f32(8, 1)), ('Output/bias', f32(1))])
    Gs = generator('G')
    return (generator('G'), D, Gs), tf_state_dict(Gs, ch)


def tf_state_dict(Gs, ch):
    """What the importer must make of the TF Gs (official names and layouts), for the value checks."""
    v = {}
    def collect(prefix, net):
        for k, a in net.state['variables']:
            v[prefix + k] = a
        for k, c in net.state['components'].items():
            collect(prefix + k + '/', c)
    collect('', Gs)
    out = {'mapping.w_avg': v['dlatent_avg']}
    for i in range(8):
        out[f'mapping.fc{i}.weight'] = v[f'mapping/Dense{i}/weight'].T
        out[f'mapping.fc{i}.bias'] = v[f'mapping/Dense{i}/bias']
    out['synthesis.b4.const'] = v['synthesis/4x4/Const/const'][0]
    conv = lambda a: a.transpose(3, 2, 0, 1)  # noqa: E731
    for r in sorted(ch):
        s = f'synthesis/{r}x{r}'
        layers = [('conv1', 'Conv', 0)] if r == 4 else [('conv0', 'Conv0_up', 2 * int(np.log2(r)) - 5), ('conv1', 'Conv1', 2 * int(np.log2(r)) - 4)]
        for name, tf, noise in layers:
            wgt = v[f'{s}/{tf}/weight']
            out[f'synthesis.b{r}.{name}.weight'] = conv(wgt[::-1, ::-1] if tf == 'Conv0_up' else wgt)
            out[f'synthesis.b{r}.{name}.bias'] = v[f'{s}/{tf}/bias']
            out[f'synthesis.b{r}.{name}.noise_const'] = v[f'synthesis/noise{noise}'][0, 0]
            out[f'synthesis.b{r}.{name}.noise_strength'] = v[f'{s}/{tf}/noise_strength']
            out[f'synthesis.b{r}.{name}.affine.weight'] = v[f'{s}/{tf}/mod_weight'].T
            out[f'synthesis.b{r}.{name}.affine.bias'] = v[f'{s}/{tf}/mod_bias'] + 1
        out[f'synthesis.b{r}.torgb.weight'] = conv(v[f'{s}/ToRGB/weight'])
        out[f'synthesis.b{r}.torgb.bias'] = v[f'{s}/ToRGB/bias']
        out[f'synthesis.b{r}.torgb.affine.weight'] = v[f'{s}/ToRGB/mod_weight'].T
        out[f'synthesis.b{r}.torgb.affine.bias'] = v[f'{s}/ToRGB/mod_bias'] + 1
    return {k: np.array(a, dtype=np.float32, order='C') for k, a in out.items()}


def write(out_dir, name, data, expected, protocol):
    path = os.path.join(out_dir, f'{name}.pkl')
    with open(path, 'wb') as f:
        pickle.dump(data, f, protocol=protocol)
    if expected is not None:
        safetensors_io.save(os.path.join(out_dir, f'{name}.expected.safetensors'), expected)
    print(f'{path}: {os.path.getsize(path)} bytes')


def main():
    args = sys.argv[1:]
    if args and args[0] == '--large':
        torch.manual_seed(5)
        channel_max = int(args[2]) if len(args) > 2 else 512
        data, _ = snapshot(sg2_kwargs(512, 8, 32768, channel_max, z_dim=512, w_dim=512), with_d=False)
        data['G_ema'].requires_grad_(False)
        with open(args[1], 'wb') as f:
            pickle.dump(data, f, protocol=3)
        print(f'{args[1]}: {os.path.getsize(args[1])} bytes')
        return
    out_dir = args[0] if args else os.path.join(HERE, '..', '..', 'tests', 'fixtures', 'pickles')
    os.makedirs(out_dir, exist_ok=True)
    reference_kwargs = dict(z_dim=32, w_dim=32)  # as training/reference/stylegan2_reference.py's FIXTURES
    cases = [
        # (name, pickle protocol, builder); a None state dict: the expected values are the reference fixture's
        ('sg2-ffhq-256-map8', 3, lambda: reference_snapshot('sg2-256-map8', sg2_kwargs(256, 8, 512, 32, **reference_kwargs), True)),
        ('sg2-afhqcat-64-map2', 2, lambda: snapshot(sg2_kwargs(64, 2, 256, 16))),
        ('stylegan-human-512x256', 4, lambda: reference_snapshot('human-512x256', sg2_kwargs(512, 8, 512, 32, square=False, **reference_kwargs), False)),
        ('sg2-conditional-32', 4, lambda: snapshot(sg2_kwargs(32, 2, 128, 8, c_dim=10))),
        ('sg3-t-256', 4, lambda: snapshot(sg3_kwargs(False), G_class=Generator3)),
        ('sg3-r-256', 4, lambda: snapshot(sg3_kwargs(True), G_class=Generator3)),
        ('sg2-bad-noise-shape-32', 4, lambda: unloadable_snapshot(wrong_noise_shape)),
        ('sg2-nan-bias-32', 4, lambda: unloadable_snapshot(non_finite_bias)),
    ]
    for i, (name, protocol, build) in enumerate(cases):
        torch.manual_seed(1000 + i)
        _stable_keys.clear()
        data, G_ema = build()
        write(out_dir, name, data, None if G_ema is None else state_dict(G_ema), protocol)
    tf_data, tf_expected = tf_snapshot(7)
    write(out_dir, 'sg2-car-config-f-128-tf', tf_data, tf_expected, 3)


if __name__ == '__main__':
    main()
