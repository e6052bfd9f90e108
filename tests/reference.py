"""Plain reference implementations written from the papers' algorithms.

Independent of optnotes.rules on purpose: one coordinate at a time with Python
floats and the math module, steps counted from 1 as in the papers, and no
shared helpers. Each function runs ``steps`` updates and returns the list of
iterates (x_0 first), each a list of floats.
"""

import math


def _run(x0, steps, grad, update, state):
    x = [float(v) for v in x0]
    path = [list(x)]
    for t in range(1, steps + 1):
        g = [float(v) for v in grad(x)]
        x = [update(i, x[i], g[i], t, state) for i in range(len(x))]
        path.append(list(x))
    return path


def sgd(x0, grad, steps, lr):
    return _run(x0, steps, grad, lambda i, x, g, t, s: x - lr(t) * g, {})


def momentum(x0, grad, steps, lr, mu):
    # CS231n / Goodfellow Alg. 8.2 form: v <- mu v - lr g; x <- x + v.
    v = [0.0] * len(x0)

    def update(i, x, g, t, s):
        v[i] = mu * v[i] - lr(t) * g
        return x + v[i]

    return _run(x0, steps, grad, update, {})


def nesterov(x0, grad, steps, lr, mu):
    # Sutskever et al. 2013, eq. 3-4, with the gradient at x + mu v.
    x = [float(v) for v in x0]
    v = [0.0] * len(x)
    path = [list(x)]
    for t in range(1, steps + 1):
        g = grad([x[i] + mu * v[i] for i in range(len(x))])
        v = [mu * v[i] - lr(t) * float(g[i]) for i in range(len(x))]
        x = [x[i] + v[i] for i in range(len(x))]
        path.append(list(x))
    return path


def adagrad(x0, grad, steps, lr, eps):
    acc = [0.0] * len(x0)

    def update(i, x, g, t, s):
        acc[i] += g * g
        return x - lr(t) * g / (math.sqrt(acc[i]) + eps)

    return _run(x0, steps, grad, update, {})


def rmsprop(x0, grad, steps, lr, rho, eps):
    cache = [0.0] * len(x0)

    def update(i, x, g, t, s):
        cache[i] = rho * cache[i] + (1 - rho) * g * g
        return x - lr(t) * g / (math.sqrt(cache[i]) + eps)

    return _run(x0, steps, grad, update, {})


def rmsprop_nesterov(x0, grad, steps, lr, rho, mu, eps):
    # Goodfellow et al. Alg. 8.6 (with eps added to the root), v = -u.
    x = [float(v) for v in x0]
    v = [0.0] * len(x)
    r = [0.0] * len(x)
    path = [list(x)]
    for t in range(1, steps + 1):
        g = grad([x[i] + mu * v[i] for i in range(len(x))])
        for i in range(len(x)):
            r[i] = rho * r[i] + (1 - rho) * float(g[i]) ** 2
            v[i] = mu * v[i] - lr(t) * float(g[i]) / (math.sqrt(r[i]) + eps)
            x[i] = x[i] + v[i]
        path.append(list(x))
    return path


def adadelta(x0, grad, steps, rho, eps, lr=lambda t: 1.0):
    # Zeiler 2012, Algorithm 1: E[g^2], E[dx^2].
    eg2 = [0.0] * len(x0)
    edx2 = [0.0] * len(x0)

    def update(i, x, g, t, s):
        eg2[i] = rho * eg2[i] + (1 - rho) * g * g
        dx = -math.sqrt(edx2[i] + eps) / math.sqrt(eg2[i] + eps) * g
        edx2[i] = rho * edx2[i] + (1 - rho) * dx * dx
        return x + lr(t) * dx

    return _run(x0, steps, grad, update, {})


def adam(x0, grad, steps, lr, b1, b2, eps, correct=True, decoupled=0.0):
    # Kingma & Ba Alg. 1; with decoupled > 0, Loshchilov & Hutter's AdamW as PyTorch.
    m = [0.0] * len(x0)
    v = [0.0] * len(x0)

    def update(i, x, g, t, s):
        m[i] = b1 * m[i] + (1 - b1) * g
        v[i] = b2 * v[i] + (1 - b2) * g * g
        mh = m[i] / (1 - b1**t) if correct else m[i]
        vh = v[i] / (1 - b2**t) if correct else v[i]
        x = x * (1 - lr(t) * decoupled)
        return x - lr(t) * mh / (math.sqrt(vh) + eps)

    return _run(x0, steps, grad, update, {})


def adamax(x0, grad, steps, lr, b1, b2):
    # Kingma & Ba Alg. 2.
    m = [0.0] * len(x0)
    u = [0.0] * len(x0)

    def update(i, x, g, t, s):
        m[i] = b1 * m[i] + (1 - b1) * g
        u[i] = max(b2 * u[i], abs(g))
        return x - (lr(t) / (1 - b1**t)) * (m[i] / u[i] if u[i] > 0 else 0.0)

    return _run(x0, steps, grad, update, {})


def nadam(x0, grad, steps, lr, b1, b2, eps):
    # Dozat 2016, Alg. 2 with mu_t = b1 for all t:
    # g_hat = g / (1 - prod_{i<=t} mu_i); m_hat = m / (1 - prod_{i<=t+1} mu_i);
    # m_bar = (1 - mu_t) g_hat + mu_{t+1} m_hat.
    m = [0.0] * len(x0)
    n = [0.0] * len(x0)

    def update(i, x, g, t, s):
        g_hat = g / (1 - b1**t)
        m[i] = b1 * m[i] + (1 - b1) * g
        m_hat = m[i] / (1 - b1 ** (t + 1))
        n[i] = b2 * n[i] + (1 - b2) * g * g
        n_hat = n[i] / (1 - b2**t)
        m_bar = (1 - b1) * g_hat + b1 * m_hat
        return x - lr(t) * m_bar / (math.sqrt(n_hat) + eps)

    return _run(x0, steps, grad, update, {})


def amsgrad(x0, grad, steps, lr, b1, b2, eps):
    # PyTorch's Adam(amsgrad=True): max of the raw v, then bias-corrected.
    m = [0.0] * len(x0)
    v = [0.0] * len(x0)
    vmax = [0.0] * len(x0)

    def update(i, x, g, t, s):
        m[i] = b1 * m[i] + (1 - b1) * g
        v[i] = b2 * v[i] + (1 - b2) * g * g
        vmax[i] = max(vmax[i], v[i])
        denom = math.sqrt(vmax[i]) / math.sqrt(1 - b2**t) + eps
        return x - lr(t) / (1 - b1**t) * m[i] / denom

    return _run(x0, steps, grad, update, {})


def yogi(x0, grad, steps, lr, b1, b2, eps):
    # Zaheer et al. 2018, Alg. 2.
    m = [0.0] * len(x0)
    v = [0.0] * len(x0)

    def update(i, x, g, t, s):
        m[i] = b1 * m[i] + (1 - b1) * g
        diff = v[i] - g * g
        sign = (diff > 0) - (diff < 0)
        v[i] = v[i] - (1 - b2) * sign * g * g
        return x - lr(t) * m[i] / (math.sqrt(v[i]) + eps)

    return _run(x0, steps, grad, update, {})
