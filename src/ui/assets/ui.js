// gleaner's embedded UI: pick a site, type the account's details (which the host page never
// sees), follow the collect, answer 2FA and drive the live screen.
//
// Rules kept throughout: secret values never go into a URL, a postMessage, web storage or
// the console; events go to the parent only when its origin is in config.allowedOrigins.
(() => {
  'use strict';

  // ---------------------------------------------------------------- i18n

  const I18N = {
    en: {
      pageTitle: 'Connect an account',
      secure: 'Secure connection',
      footer: 'Secured by Gleaner',
      loading: 'Loading…',
      connectorsTitle: 'Connect an account',
      connectorsIntro: 'Choose the site where you have an account.',
      searchLabel: 'Search for a site',
      searchPlaceholder: 'Name of the site',
      noMatch: 'No site matches.',
      noMatchQuery: 'No site matches “{query}”.',
      noConnectors: 'No site is available yet.',
      back: 'All sites',
      formTitle: 'Log in to {name}',
      formIntro: 'Enter the details you use on {name}.',
      formIntroInteractive: "You will log in yourself on {name}'s screen, shown right here.",
      formEditTitle: 'Correct your {name} details',
      formEditIntro: 'Check your login and type your password again.',
      optional: '(optional)',
      showSecret: 'Show {label}',
      reassure: 'Your password is encrypted and never shared with the site you came from.',
      submit: 'Connect my account',
      submitEdit: 'Try again with these details',
      submitting: 'Connecting…',
      progressTitleVerify: 'Connecting to {name}',
      progressTitleCollect: 'Updating {name}',
      yourAccount: 'your account',
      state0: 'Getting ready',
      state1: 'Starting a secure browser',
      state2: 'Logging in to {name}',
      state3: 'Waiting for your code',
      state4: 'Checking the code',
      state5: 'Collecting your data',
      state6: 'Downloading your documents',
      state7: 'Done',
      stateFailed: 'Stopped',
      progressText: 'Step {n} of 7: {text}',
      twofaSms: 'Enter the code you received by SMS',
      twofaEmail: 'Enter the code you received by email',
      twofaApp: 'Enter the code from your authenticator app',
      twofaUnknown: 'Enter the verification code',
      twofaSubmit: 'Confirm',
      twofaCountdown: 'Code valid for {time}',
      twofaExpired: 'The time to enter this code is over: it may no longer work.',
      checking: 'Checking…',
      liveTitle: 'Finish on the site',
      liveDefault: '{name} needs you: use the screen below as you would use the site.',
      screenLabel: 'Live screen of {name}. Click it, then type; Shift+Tab leaves it.',
      liveHint: 'Click the screen, then type. Shift+Tab leaves it.',
      liveWaiting: 'Waiting for the screen…',
      liveStatus: '{name} is waiting for you: finish on the screen below.',
      liveTools: 'Screen',
      zoomIn: 'Zoom in',
      zoomOut: 'Zoom out',
      fullscreen: 'Full screen',
      liveTextLabel: 'Type here to write on the site',
      focusField: 'What you type goes to: {label}.',
      focusFieldUnnamed: 'What you type goes to the field the site has selected.',
      focusFrame: 'What you type goes to a part of the site that cannot be shown here.',
      focusNothing: 'Nothing on the site takes text now: first tap or click the field on the screen.',
      done: "I'm done",
      reconnecting: 'Connection lost, reconnecting…',
      connectionLost: 'We lost the connection to the service. Reload the page to pick up where you left off.',
      successVerifyTitle: '{name} is connected',
      successVerifyText: 'Your account has been added.',
      successCollectTitle: 'Your documents are up to date',
      successCollectText: '{name} has been updated.',
      failTitle: "We couldn't connect",
      twofaWrong: 'The code was not accepted. Check it and type it again.',
      failWrongCode: 'The code was not accepted. Try again: the site will send you a new code.',
      failCodeExpired: 'The time to enter the code ran out. Try again: the site will send you a new code.',
      failLogin: 'The site refused these details: check your login and password.',
      failUserAction: 'The site needs you to finish logging in. Try again and follow the steps shown here.',
      failVendorDown: "The site is unavailable right now; we'll retry later.",
      failGeneric: 'Something went wrong while connecting to {name}. Please try again later.',
      errorCode: 'Error code: {code}',
      retry: 'Correct my details',
      again: 'Try again',
      continue: 'Continue',
      redirectNote: 'Taking you back in {n} s…',
      expiredTitle: 'This link has expired',
      expiredText: 'Go back and start again.',
      errorTitle: 'Something went wrong',
      errorText: 'The page could not load. Try again in a moment.',
      networkError: 'The service cannot be reached. Check your connection and try again.',
      notFound: 'This account cannot be found. Go back to the site you came from and start again.',
      reload: 'Reload',
      close: 'Close',
    },
    fr: {
      pageTitle: 'Connecter un compte',
      secure: 'Connexion sécurisée',
      footer: 'Sécurisé par Gleaner',
      loading: 'Chargement…',
      connectorsTitle: 'Connecter un compte',
      connectorsIntro: 'Choisissez le site sur lequel vous avez un compte.',
      searchLabel: 'Rechercher un site',
      searchPlaceholder: 'Nom du site',
      noMatch: 'Aucun site ne correspond.',
      noMatchQuery: 'Aucun site ne correspond à « {query} ».',
      noConnectors: "Aucun site n'est encore disponible.",
      back: 'Tous les sites',
      formTitle: 'Connexion à {name}',
      formIntro: 'Saisissez les identifiants que vous utilisez sur {name}.',
      formIntroInteractive: 'Vous vous connecterez vous-même sur l\u2019écran de {name}, affiché ici.',
      formEditTitle: 'Corrigez vos identifiants {name}',
      formEditIntro: 'Vérifiez votre identifiant et saisissez à nouveau votre mot de passe.',
      optional: '(facultatif)',
      showSecret: 'Afficher : {label}',
      reassure: "Votre mot de passe est chiffré et n'est jamais transmis au site d'où vous venez.",
      submit: 'Connecter mon compte',
      submitEdit: 'Réessayer avec ces identifiants',
      submitting: 'Connexion…',
      progressTitleVerify: 'Connexion à {name}',
      progressTitleCollect: 'Mise à jour de {name}',
      yourAccount: 'votre compte',
      state0: 'Préparation',
      state1: "Démarrage d'un navigateur sécurisé",
      state2: 'Connexion à {name}',
      state3: 'En attente de votre code',
      state4: 'Vérification du code',
      state5: 'Récupération de vos données',
      state6: 'Téléchargement de vos documents',
      state7: 'Terminé',
      stateFailed: 'Interrompu',
      progressText: 'Étape {n} sur 7 : {text}',
      twofaSms: 'Saisissez le code reçu par SMS',
      twofaEmail: 'Saisissez le code reçu par e-mail',
      twofaApp: 'Saisissez le code de votre application d\u2019authentification',
      twofaUnknown: 'Saisissez le code de vérification',
      twofaSubmit: 'Valider',
      twofaCountdown: 'Code valable encore {time}',
      twofaExpired: 'Le délai pour saisir ce code est dépassé : il risque de ne plus fonctionner.',
      checking: 'Vérification…',
      liveTitle: 'Terminez sur le site',
      liveDefault: '{name} a besoin de vous : utilisez l\u2019écran ci-dessous comme le site lui-même.',
      screenLabel: 'Écran de {name} en direct. Cliquez dessus puis tapez ; Maj+Tab pour en sortir.',
      liveHint: 'Cliquez sur l\u2019écran, puis tapez. Maj+Tab pour en sortir.',
      liveWaiting: 'En attente de l\u2019écran…',
      liveStatus: '{name} vous attend : terminez sur l\u2019écran ci-dessous.',
      liveTools: 'Écran',
      zoomIn: 'Agrandir',
      zoomOut: 'Réduire',
      fullscreen: 'Plein écran',
      liveTextLabel: 'Tapez ici pour écrire sur le site',
      focusField: 'Ce que vous tapez va dans : {label}.',
      focusFieldUnnamed: 'Ce que vous tapez va dans le champ sélectionné sur le site.',
      focusFrame: 'Ce que vous tapez va dans une partie du site qui ne peut pas être affichée ici.',
      focusNothing: 'Rien sur le site ne reçoit de texte : touchez ou cliquez d\u2019abord le champ sur l\u2019écran.',
      done: "J'ai terminé",
      reconnecting: 'Connexion perdue, reconnexion en cours…',
      connectionLost: 'La connexion au service a été perdue. Rechargez la page pour reprendre où vous en étiez.',
      successVerifyTitle: 'Votre compte {name} est connecté',
      successVerifyText: 'Votre compte a bien été ajouté.',
      successCollectTitle: 'Vos documents sont à jour',
      successCollectText: '{name} a été mis à jour.',
      failTitle: "La connexion n'a pas abouti",
      twofaWrong: "Le code n'a pas été accepté. Vérifiez-le et saisissez-le à nouveau.",
      failWrongCode: "Le code n'a pas été accepté. Réessayez : le site vous enverra un nouveau code.",
      failCodeExpired: 'Le délai pour saisir le code est dépassé. Réessayez : le site vous enverra un nouveau code.',
      failLogin: 'Le site a refusé ces identifiants : vérifiez votre identifiant et votre mot de passe.',
      failUserAction: 'Le site a besoin de vous pour terminer la connexion. Réessayez et suivez les étapes affichées ici.',
      failVendorDown: 'Le site est indisponible pour le moment ; nous réessaierons plus tard.',
      failGeneric: 'Un problème est survenu pendant la connexion à {name}. Réessayez plus tard.',
      errorCode: "Code d'erreur : {code}",
      retry: 'Corriger mes identifiants',
      again: 'Réessayer',
      continue: 'Continuer',
      redirectNote: 'Retour automatique dans {n} s…',
      expiredTitle: 'Ce lien a expiré',
      expiredText: 'Revenez en arrière et recommencez.',
      errorTitle: 'Un problème est survenu',
      errorText: "La page n'a pas pu se charger. Réessayez dans un instant.",
      networkError: 'Le service est injoignable. Vérifiez votre connexion et réessayez.',
      notFound: "Ce compte est introuvable. Revenez sur le site d'où vous venez et recommencez.",
      reload: 'Recharger',
      close: 'Fermer',
    },
  };

  // ---------------------------------------------------------------- config

  let config = {};
  try {
    const parsed = JSON.parse(document.getElementById('gleaner-config').textContent);
    if (parsed && typeof parsed === 'object') config = parsed;
  } catch (_) {
    config = {};
  }

  // The token is in the page's config now: out of the address bar, the history and any
  // Referer or screenshot of the URL.
  try {
    const url = new URL(location.href);
    if (url.searchParams.has('token')) {
      url.searchParams.delete('token');
      history.replaceState(history.state, '', url.pathname + url.search + url.hash);
    }
  } catch (_) { /* an old browser keeps the URL as it is */ }

  const lang = (() => {
    if (config.lang === 'fr' || config.lang === 'en') return config.lang;
    const nav = (navigator.language || '').toLowerCase();
    return nav.startsWith('fr') ? 'fr' : 'en';
  })();
  const dict = I18N[lang];

  function t(key, vars) {
    let s = dict[key] !== undefined ? dict[key] : I18N.en[key] !== undefined ? I18N.en[key] : key;
    if (vars) s = s.replace(/\{(\w+)\}/g, (m, k) => (vars[k] !== undefined && vars[k] !== null ? String(vars[k]) : m));
    return s;
  }

  // A connector's text (a label, a placeholder, instructions) comes as an object from
  // language tag to text, in the connector's order; "" is a text of unknown language.
  // Shown: the person's language, else English, else the first one; a tag also matches by
  // its language alone (`pt-BR` for `pt`). Returns {text, lang}, or null when there is none.
  function pickText(localized, fallback) {
    const entries = localized && typeof localized === 'object' ? Object.entries(localized) : [];
    if (!entries.length) return fallback ? { text: String(fallback), lang: '' } : null;
    const base = (tag) => tag.split('-')[0].toLowerCase();
    for (const want of [lang, 'en']) {
      const found = entries.find(([tag]) => tag.toLowerCase() === want) ||
        entries.find(([tag]) => tag && base(tag) === want);
      if (found) return { text: String(found[1]), lang: found[0] };
    }
    return { text: String(entries[0][1]), lang: entries[0][0] };
  }

  // Puts a picked text in `node`, marked with its language ("" when unknown).
  function showText(node, picked) {
    node.textContent = picked.text;
    node.setAttribute('lang', picked.lang);
  }

  const embedded = window.parent !== window;

  // ---------------------------------------------------------------- DOM

  const $ = (id) => document.getElementById(id);
  const el = {
    card: $('card'),
    notice: $('notice'),
    search: $('search'),
    list: $('connector-list'),
    empty: $('connector-empty'),
    back: $('back'),
    formAvatar: $('form-avatar'),
    formTitle: $('form-title'),
    formIntro: $('form-intro'),
    form: $('account-form'),
    fields: $('fields'),
    formError: $('form-error'),
    submit: $('submit'),
    submitLabel: $('submit-label'),
    progressAvatar: $('progress-avatar'),
    progressTitle: $('progress-title'),
    progress: $('progress'),
    progressFill: $('progress-fill'),
    status: $('status'),
    twofaForm: $('twofa-form'),
    twofaLabel: $('twofa-label'),
    twofaCode: $('twofa-code'),
    twofaError: $('twofa-error'),
    close: $('close'),
    twofaCountdown: $('twofa-countdown'),
    live: $('live'),
    instructions: $('instructions'),
    canvas: $('screen'),
    done: $('done'),
    liveText: $('live-text'),
    endTitle: $('end-title'),
    endMessage: $('end-message'),
    endCode: $('end-code'),
    retry: $('retry'),
    again: $('again'),
    cont: $('continue'),
    redirectNote: $('redirect-note'),
    fatalTitle: $('fatal-title'),
    fatalMessage: $('fatal-message'),
    fatalCode: $('fatal-code'),
    reload: $('reload'),
  };

  // ---------------------------------------------------------------- state

  const S = {
    context: null,
    connectors: new Map(),
    connector: null, // the connector being added / collected
    credentialId: null,
    credential: null, // last known credential (non-secret fields only)
    identity: null,
    alreadyExists: false,
    verify: true,
    editing: null, // credential being corrected (PUT) or null (POST)
    urlAdded: false, // we put collect=&verify= in the URL ourselves
    // collect
    collectId: null,
    wsPath: null,
    ws: null,
    everOpened: false,
    retries: 0,
    reconnectTimer: null,
    final: false,
    lastState: null,
    pendingTwofa: null,
    twofaExpires: 0,
    twofaTimer: null,
    // the last state posted to the host: each is posted once
    postedState: null,
    // end
    finalCode: null,
    redirectTimer: null,
    noticeTimer: null,
  };

  const FINAL = new Set([-2, -1, 7]);

  // ---------------------------------------------------------------- helpers

  function applyStatic() {
    document.documentElement.lang = lang;
    if (embedded) document.documentElement.classList.add('embedded');
    document.title = t('pageTitle');
    for (const node of document.querySelectorAll('[data-i18n]')) node.textContent = t(node.dataset.i18n);
    for (const node of document.querySelectorAll('[data-i18n-placeholder]')) {
      node.placeholder = t(node.dataset.i18nPlaceholder);
    }
    for (const node of document.querySelectorAll('[data-i18n-label]')) {
      node.setAttribute('aria-label', t(node.dataset.i18nLabel));
    }
    el.close.hidden = !embedded;
  }

  function showScreen(screen, focus) {
    const section = screen === 'success' || screen === 'failure' ? 'end' : screen;
    for (const s of document.querySelectorAll('[data-section]')) s.hidden = s.dataset.section !== section;
    document.body.dataset.screen = screen;
    if (screen !== 'progress') document.body.classList.remove('live-on');
    if (focus === false) return;
    const target = focus || document.querySelector(`[data-section="${section}"] [data-heading]`);
    if (target) target.focus();
  }

  function notice(text, ms) {
    clearTimeout(S.noticeTimer);
    el.notice.textContent = text || '';
    if (text && ms) S.noticeTimer = setTimeout(() => { el.notice.textContent = ''; }, ms);
  }

  function hashHue(id) {
    let h = 2166136261;
    for (let i = 0; i < id.length; i++) {
      h ^= id.charCodeAt(i);
      h = Math.imul(h, 16777619);
    }
    return (h >>> 0) % 360;
  }

  function initials(name) {
    const words = String(name || '?').trim().split(/[\s\-_.]+/).filter(Boolean);
    let s = words.length >= 2 ? words[0][0] + words[1][0] : (words[0] || '?').slice(0, 2);
    return s.toUpperCase();
  }

  function paintAvatar(node, connector) {
    const id = connector ? connector.id : '';
    const hue = hashHue(id);
    node.textContent = initials(connector ? connector.name : '?');
    node.style.backgroundColor = `hsl(${hue}, 70%, 91%)`;
    node.style.color = `hsl(${hue}, 60%, 27%)`;
  }

  function connectorName() {
    return S.connector ? S.connector.name : t('yourAccount');
  }

  function normalise(s) {
    return String(s || '').normalize('NFD').replace(/[\u0300-\u036f]/g, '').toLowerCase();
  }

  function svg(markup) {
    const tpl = document.createElement('template');
    tpl.innerHTML = markup.trim();
    return tpl.content.firstChild;
  }

  const CHEVRON = '<svg class="icon chevron" viewBox="0 0 24 24" aria-hidden="true" focusable="false"><path d="M9 5l7 7-7 7" fill="none" stroke="currentColor" stroke-width="2.2" stroke-linecap="round" stroke-linejoin="round"/></svg>';
  const EYE = '<svg class="icon eye" viewBox="0 0 24 24" aria-hidden="true" focusable="false"><path d="M2 12s3.6-7 10-7 10 7 10 7-3.6 7-10 7S2 12 2 12z" fill="none" stroke="currentColor" stroke-width="2" stroke-linejoin="round"/><circle cx="12" cy="12" r="3" fill="none" stroke="currentColor" stroke-width="2"/></svg>';
  const EYE_OFF = '<svg class="icon eye-off" viewBox="0 0 24 24" aria-hidden="true" focusable="false"><path d="M3 3l18 18M10.6 5.1A10.8 10.8 0 0 1 12 5c6.4 0 10 7 10 7a17 17 0 0 1-3.2 4.1M6.5 6.6C3.7 8.4 2 12 2 12s3.6 7 10 7c1.8 0 3.4-.5 4.7-1.3M9.9 9.9a3 3 0 0 0 4.2 4.2" fill="none" stroke="currentColor" stroke-width="2" stroke-linecap="round" stroke-linejoin="round"/></svg>';

  // Non-secret facts about a credential, kept for a reload within this tab (sessionStorage).
  // Only what the server itself returns as non-secret; never a secret value.
  function stashKey(id) { return 'gleaner:credential:' + id; }
  function saveStash(id, info) {
    try { sessionStorage.setItem(stashKey(id), JSON.stringify(info)); } catch (_) { /* storage off */ }
  }
  function loadStash(id) {
    try { return JSON.parse(sessionStorage.getItem(stashKey(id)) || 'null'); } catch (_) { return null; }
  }

  function identityOf(credential) {
    if (!credential || !credential.fields) return null;
    const connector = S.connectors.get(credential.connector);
    const field = connector && (connector.fields || []).find((f) => f.identity);
    if (field && credential.fields[field.name] !== undefined) return String(credential.fields[field.name]);
    return null;
  }

  // ---------------------------------------------------------------- API

  class ApiError extends Error {
    constructor(status, code, message) {
      super(message);
      this.status = status;
      this.code = code;
    }
  }

  // Serialises the body synchronously (before the first await), so callers may wipe the
  // form as soon as this returns its promise.
  async function api(method, path, body) {
    const init = {
      method,
      headers: { Authorization: 'Session ' + config.token, Accept: 'application/json' },
      credentials: 'omit',
      cache: 'no-store',
      referrerPolicy: 'no-referrer',
    };
    if (body !== undefined) {
      init.headers['Content-Type'] = 'application/json';
      init.body = JSON.stringify(body);
    }
    let res;
    try {
      res = await fetch(path, init);
    } catch (_) {
      throw new ApiError(0, 'NETWORK', t('networkError'));
    }
    if (res.status === 401) {
      showExpired();
      throw new ApiError(401, 'EXPIRED', t('expiredTitle'));
    }
    let data = null;
    try { data = await res.json(); } catch (_) { data = null; }
    if (!res.ok) {
      const err = (data && data.error) || {};
      throw new ApiError(res.status, err.code || 'HTTP_' + res.status, err.message || res.statusText || t('errorText'));
    }
    return data;
  }

  // ---------------------------------------------------------------- host events

  const allowed = new Set(
    (Array.isArray(config.allowedOrigins) ? config.allowedOrigins : []).map((o) => {
      try { return new URL(o).origin; } catch (_) { return null; }
    }).filter(Boolean),
  );

  function hostOrigin() {
    if (!embedded) return null;
    let origin = null;
    try {
      if (location.ancestorOrigins && location.ancestorOrigins.length) origin = location.ancestorOrigins[0];
    } catch (_) { origin = null; }
    if (!origin && document.referrer) {
      try { origin = new URL(document.referrer).origin; } catch (_) { origin = null; }
    }
    return origin && allowed.has(origin) ? origin : null;
  }

  function postToHost(payload) {
    const origin = hostOrigin();
    if (!origin) return;
    try { window.parent.postMessage(payload, origin); } catch (_) { /* parent gone */ }
  }

  // ---------------------------------------------------------------- screens: connectors

  function renderConnectors() {
    el.list.textContent = '';
    const connectors = (S.context && S.context.connectors) || [];
    for (const c of connectors) {
      const b = document.createElement('button');
      b.type = 'button';
      b.className = 'connector';
      b.dataset.id = c.id;
      b.dataset.search = normalise(c.name + ' ' + c.id);
      const avatar = document.createElement('span');
      avatar.className = 'avatar';
      avatar.setAttribute('aria-hidden', 'true');
      paintAvatar(avatar, c);
      const name = document.createElement('span');
      name.className = 'name';
      name.textContent = c.name;
      b.append(avatar, name, svg(CHEVRON));
      b.addEventListener('click', () => openForm(c, null));
      el.list.append(b);
    }
    filterConnectors();
  }

  function filterConnectors() {
    const q = normalise(el.search.value.trim());
    let shown = 0;
    for (const b of el.list.querySelectorAll('.connector')) {
      const match = !q || b.dataset.search.includes(q);
      b.hidden = !match;
      if (match) shown++;
    }
    if (shown) el.empty.textContent = '';
    else if (!el.list.children.length) el.empty.textContent = t('noConnectors');
    else el.empty.textContent = q ? t('noMatchQuery', { query: el.search.value.trim() }) : t('noMatch');
  }

  el.search.addEventListener('input', filterConnectors);
  el.search.addEventListener('keydown', (e) => {
    if (e.key === 'Enter') {
      e.preventDefault();
      const first = el.list.querySelector('.connector:not([hidden])');
      if (first) first.click();
    } else if (e.key === 'ArrowDown') {
      const first = el.list.querySelector('.connector:not([hidden])');
      if (first) { e.preventDefault(); first.focus(); }
    }
  });
  el.list.addEventListener('keydown', (e) => {
    if (e.key !== 'ArrowDown' && e.key !== 'ArrowUp') return;
    const buttons = [...el.list.querySelectorAll('.connector:not([hidden])')];
    const i = buttons.indexOf(document.activeElement);
    if (i < 0) return;
    e.preventDefault();
    if (e.key === 'ArrowDown' && i + 1 < buttons.length) buttons[i + 1].focus();
    else if (e.key === 'ArrowUp') (i > 0 ? buttons[i - 1] : el.search).focus();
  });

  // ---------------------------------------------------------------- screens: form

  function autocompleteFor(f) {
    if (f.secret || f.type === 'password') return 'current-password';
    if (f.identity) return 'username';
    if (f.type === 'email') return 'email';
    return 'off';
  }

  function inputType(f) {
    if (f.secret || f.type === 'password') return 'password';
    return ['text', 'email', 'number', 'date'].includes(f.type) ? f.type : 'text';
  }

  // credential: null to add an account (POST), else the credential to correct (PUT).
  function openForm(connector, credential) {
    clearTimers();
    S.connector = connector;
    S.editing = credential;
    const fixed = config.connector || (S.context && S.context.connector);
    el.back.hidden = !!fixed;
    paintAvatar(el.formAvatar, connector);
    el.formTitle.textContent = t(credential ? 'formEditTitle' : 'formTitle', { name: connector.name });
    const noFields = !(connector.fields || []).length;
    const intro = credential ? 'formEditIntro' : noFields && connector.interactiveLogin ? 'formIntroInteractive' : 'formIntro';
    el.formIntro.textContent = t(intro, { name: connector.name });
    el.submitLabel.textContent = t(credential ? 'submitEdit' : 'submit');
    el.formError.hidden = true;
    el.formError.textContent = '';
    setBusy(false);

    el.fields.textContent = '';
    const values = (credential && credential.fields) || {};
    for (const f of connector.fields || []) {
      const id = 'field-' + f.name;
      const wrap = document.createElement('div');
      wrap.className = 'field';
      const label = document.createElement('label');
      label.className = 'label';
      label.htmlFor = id;
      const labelText = pickText(f.localizedLabel, f.label || f.name);
      showText(label, labelText);
      if (f.optional) {
        const opt = document.createElement('span');
        opt.className = 'optional';
        opt.lang = lang;
        opt.textContent = ' ' + t('optional');
        label.append(opt);
      }
      const box = document.createElement('div');
      box.className = 'input-wrap';
      const input = document.createElement('input');
      input.id = id;
      input.name = f.name;
      input.type = inputType(f);
      input.autocomplete = autocompleteFor(f);
      input.required = !f.optional;
      input.spellcheck = false;
      input.setAttribute('autocapitalize', 'off');
      input.dataset.secret = f.secret || f.type === 'password' ? 'true' : 'false';
      const placeholder = pickText(f.localizedPlaceholder, f.placeholder);
      if (placeholder) input.placeholder = placeholder.text;
      if (f.type === 'number') input.inputMode = 'numeric';
      if (input.dataset.secret !== 'true' && values[f.name] !== undefined && values[f.name] !== null) {
        input.value = String(values[f.name]);
      }
      input.addEventListener('input', () => input.removeAttribute('aria-invalid'));
      box.append(input);
      if (input.dataset.secret === 'true') {
        box.classList.add('has-toggle');
        const toggle = document.createElement('button');
        toggle.type = 'button';
        toggle.className = 'toggle-secret';
        toggle.dataset.for = id;
        toggle.setAttribute('aria-pressed', 'false');
        toggle.setAttribute('aria-controls', id);
        toggle.setAttribute('aria-label', t('showSecret', { label: labelText.text }));
        toggle.append(svg(EYE), svg(EYE_OFF));
        toggle.addEventListener('click', () => {
          const show = input.type === 'password';
          input.type = show ? 'text' : 'password';
          toggle.setAttribute('aria-pressed', show ? 'true' : 'false');
        });
        box.append(toggle);
      }
      wrap.append(label, box);
      el.fields.append(wrap);
    }
    showScreen('form');
  }

  function setBusy(busy) {
    el.submit.disabled = busy;
    el.submit.classList.toggle('busy', busy);
    el.submit.setAttribute('aria-busy', busy ? 'true' : 'false');
    if (busy) el.submitLabel.textContent = t('submitting');
    else el.submitLabel.textContent = t(S.editing ? 'submitEdit' : 'submit');
  }

  function wipeSecrets() {
    for (const input of el.fields.querySelectorAll('input[data-secret="true"]')) {
      input.value = '';
      input.type = 'password';
    }
    for (const toggle of el.fields.querySelectorAll('.toggle-secret')) toggle.setAttribute('aria-pressed', 'false');
  }

  el.back.addEventListener('click', () => {
    wipeSecrets();
    S.editing = null;
    if (!el.list.children.length) renderConnectors();
    showScreen('connectors');
  });

  el.form.addEventListener('submit', async (e) => {
    e.preventDefault();
    if (el.submit.disabled || !S.connector) return;
    let fields = {};
    for (const input of el.fields.querySelectorAll('input')) {
      const secret = input.dataset.secret === 'true';
      const value = secret ? input.value : input.value.trim();
      if (value === '' && (!input.required || (secret && S.editing))) continue;
      fields[input.name] = value;
    }
    el.formError.hidden = true;
    el.formError.textContent = '';
    setBusy(true);
    const editing = S.editing;
    const request = editing
      ? api('PUT', '/ui/api/credentials/' + encodeURIComponent(editing.id), { fields })
      : api('POST', '/ui/api/credentials', { connector: S.connector.id, fields });
    // The body is serialised: drop every reference to the secrets.
    fields = null;
    wipeSecrets();
    let res;
    try {
      res = await request;
    } catch (err) {
      if (err.status === 401) return;
      setBusy(false);
      el.formError.textContent = err.message || t('errorText');
      el.formError.hidden = false;
      const first = el.fields.querySelector('input[data-secret="true"]') || el.fields.querySelector('input');
      if (err.status === 422 && first) first.setAttribute('aria-invalid', 'true');
      if (first) first.focus();
      return;
    }
    setBusy(false);
    const credential = res.credential || {};
    S.credentialId = credential.id || (editing && editing.id);
    S.credential = credential;
    // A correction keeps what the first submission said: the account was new, or not.
    if (!editing) S.alreadyExists = !!res.alreadyExists;
    S.identity = res.identity !== undefined && res.identity !== null ? String(res.identity) : identityOf(credential);
    S.verify = true;
    S.editing = null;
    saveStash(S.credentialId, {
      connector: S.connector.id,
      identity: S.identity,
      alreadyExists: S.alreadyExists,
      fields: credential.fields || {},
    });
    const url = new URL(location.href);
    url.searchParams.set('collect', S.credentialId);
    url.searchParams.set('verify', '1');
    history.replaceState(history.state, '', url.href);
    S.urlAdded = true;
    startProgress(res.collect || {});
  });

  // ---------------------------------------------------------------- screens: progress

  async function attach(credentialId, verify) {
    clearTimers();
    S.credentialId = credentialId;
    S.verify = verify;
    const stash = loadStash(credentialId) || {};
    const bound = S.context && S.context.credential && S.context.credential.id === credentialId ? S.context.credential : null;
    if (bound) S.credential = bound;
    else if (!S.credential || S.credential.id !== credentialId) {
      S.credential = stash.connector ? { id: credentialId, connector: stash.connector, fields: stash.fields || {} } : null;
    }
    // A session not made for this credential still knows its user's: the view names the
    // site and the account (a foreign one is refused, and nothing starts).
    if (!S.credential) {
      try {
        const view = await api('GET', '/ui/api/credentials/' + encodeURIComponent(credentialId));
        S.credential = view.credential;
        if (view.identity) S.identity = view.identity;
      } catch (err) {
        apiFailure(err);
        return;
      }
    }
    const connectorId = (S.credential && S.credential.connector) || stash.connector || config.connector || (S.context && S.context.connector);
    S.connector = S.connectors.get(connectorId) || S.connector || null;
    if (!S.identity) S.identity = stash.identity || identityOf(S.credential);
    if (stash.alreadyExists !== undefined && !S.alreadyExists) S.alreadyExists = !!stash.alreadyExists;
    let collect;
    try {
      collect = await api('POST', '/ui/api/credentials/' + encodeURIComponent(credentialId) + '/collect', { verify: !!verify });
    } catch (err) {
      apiFailure(err);
      return;
    }
    startProgress(collect);
  }

  function startProgress(collect) {
    closeSocket();
    S.collectId = collect.collectId || null;
    S.wsPath = collect.wsPath || null;
    S.final = false;
    S.everOpened = false;
    S.retries = 0;
    S.postedState = null;
    liveScreen.reset();
    S.pendingTwofa = null;
    if (S.collectId) document.body.dataset.collectId = S.collectId;
    document.body.classList.remove('blank');
    el.twofaForm.hidden = true;
    hideLive();
    notice('');
    paintAvatar(el.progressAvatar, S.connector || { id: '', name: '?' });
    el.progressTitle.textContent = t(S.verify ? 'progressTitleVerify' : 'progressTitleCollect', { name: connectorName() });
    const initial = typeof collect.state === 'number' && !FINAL.has(collect.state) ? collect.state : 0;
    renderState(initial);
    showScreen('progress');
    if (!S.wsPath) {
      fatal(t('connectionLost'));
      return;
    }
    connect();
  }

  function stateText(state) {
    if (state < 0) return t('stateFailed');
    return t('state' + Math.min(7, state), { name: connectorName() });
  }

  function renderState(state) {
    document.body.dataset.state = String(state);
    const v = Math.max(0, Math.min(7, state));
    el.progress.setAttribute('aria-valuenow', String(v));
    const text = stateText(state);
    el.progress.setAttribute('aria-valuetext', t('progressText', { n: v, text }));
    el.progressFill.style.width = (v / 7) * 100 + '%';
    el.status.textContent = text;
    if (state !== 3) stopTwofa();
  }

  // ---------------------------------------------------------------- WebSocket

  function wsUrl() {
    return (location.protocol === 'https:' ? 'wss://' : 'ws://') + location.host + S.wsPath;
  }

  function connect() {
    clearTimeout(S.reconnectTimer);
    let ws;
    try {
      // The session token goes as a subprotocol, which the server checks against the
      // live UI tokens (a browser cannot set headers on a WebSocket).
      ws = new WebSocket(wsUrl(), ['gleaner-ui.' + config.token]);
    } catch (_) {
      scheduleReconnect();
      return;
    }
    S.ws = ws;
    ws.addEventListener('open', () => {
      if (S.ws !== ws) return;
      if (S.retries > 0) notice('');
      S.everOpened = true;
      liveScreen.resendDisplay();
      S.retries = 0;
      if (S.pendingTwofa !== null) {
        ws.send(JSON.stringify({ type: 'twofa', code: S.pendingTwofa }));
        S.pendingTwofa = null;
      }
    });
    ws.addEventListener('message', (ev) => {
      if (S.ws !== ws || typeof ev.data !== 'string') return;
      let msg;
      try { msg = JSON.parse(ev.data); } catch (_) { return; }
      if (msg && typeof msg === 'object') onMessage(msg);
    });
    ws.addEventListener('close', () => {
      if (S.ws !== ws) return;
      S.ws = null;
      if (!S.final) scheduleReconnect();
    });
  }

  function closeSocket() {
    clearTimeout(S.reconnectTimer);
    const ws = S.ws;
    S.ws = null;
    if (ws) { try { ws.close(); } catch (_) { /* already closed */ } }
  }

  async function scheduleReconnect() {
    S.retries++;
    // A socket that never opened: the link may have expired (401 on the API) or the collect
    // is unknown to the server (its wsPath answers 404): both mean "start again".
    if (!S.everOpened) {
      if (S.retries === 1) {
        try { await api('GET', '/ui/api/context'); } catch (err) { if (err.status === 401) return; }
      }
      if (S.retries > 2) { showExpired(); return; }
    } else if (S.retries > 5) {
      fatal(t('connectionLost'));
      return;
    }
    if (S.final) return;
    notice(t('reconnecting'));
    S.reconnectTimer = setTimeout(connect, Math.min(8000, 400 * 2 ** (S.retries - 1)));
  }

  function send(msg) {
    if (S.ws && S.ws.readyState === WebSocket.OPEN) {
      S.ws.send(JSON.stringify(msg));
      return true;
    }
    return false;
  }

  function onMessage(msg) {
    switch (msg.type) {
      case 'state': return onState(msg);
      case 'screenshot': return liveScreen.onFrame(msg);
      case 'focus': return liveScreen.onFocus(msg);
      case 'twofa': return showTwofa(msg);
      case 'error': return notice(String(msg.message || ''), 6000);
      default: return undefined;
    }
  }

  // Why a collect failed, as the host gets it: `{code, message, advice {en, fr}}`, the
  // server's own (its message went through the collect's redactor: no secret), copied field
  // by field so that nothing else the server may add ever reaches the host.
  function reasonOf(state, error) {
    const e = error && typeof error === 'object' ? error : {};
    const a = e.advice && typeof e.advice === 'object' ? e.advice : {};
    return {
      code: String(e.code || (state === -2 ? 'USER_ACTION_NEEDED' : 'UNKNOWN')),
      message: typeof e.message === 'string' ? e.message : '',
      advice: { en: String(a.en || ''), fr: String(a.fr || '') },
    };
  }

  function onState(msg) {
    const state = Number(msg.state);
    if (!Number.isFinite(state)) return;
    S.lastState = state;
    renderState(state);
    const failed = state === -1 || state === -2;
    const reason = failed ? reasonOf(state, msg.error) : null;
    const event = { type: 'state', state, name: msg.name, authorizationId: S.credentialId };
    if (reason) event.error = reason;
    // The service tells every change (a live step starting is state 2 again): the host
    // hears each state once.
    if (state !== S.postedState) {
      S.postedState = state;
      postToHost(event);
    }
    if (FINAL.has(state)) {
      finish(state, reason, msg.advice || null);
      return;
    }
    if (msg.interactive) showLive(pickText(msg.localized_instructions, msg.instructions));
    else hideLive();
  }

  // ---------------------------------------------------------------- 2FA

  const TWOFA_LABELS = { sms: 'twofaSms', email: 'twofaEmail', app: 'twofaApp' };

  function showTwofa(msg) {
    if (S.final) return;
    // Said once: the connector's label when it gives one, else the UI's sentence by kind.
    showText(el.twofaLabel, pickText(msg.localized_label) || { text: t(TWOFA_LABELS[msg.kind] || 'twofaUnknown'), lang });
    el.twofaCode.value = '';
    // The server says when the collect asks again for the code it was given: the site did
    // not take it (the connector loops back to its `ask_code` while the site still takes
    // one), so the person types it again, told why.
    const askedAgain = msg.again === true;
    el.twofaError.textContent = askedAgain ? t('twofaWrong') : '';
    el.twofaError.hidden = !askedAgain;
    if (askedAgain) el.twofaCode.setAttribute('aria-invalid', 'true');
    else el.twofaCode.removeAttribute('aria-invalid');
    el.twofaForm.hidden = false;
    el.status.textContent = stateText(3);
    S.twofaExpires = Number(msg.expires_at) || 0;
    clearInterval(S.twofaTimer);
    tickTwofa();
    if (S.twofaExpires) S.twofaTimer = setInterval(tickTwofa, 1000);
    el.twofaCode.focus();
  }

  function tickTwofa() {
    if (!S.twofaExpires) {
      el.twofaCountdown.textContent = '';
      return;
    }
    const left = Math.max(0, Math.round(S.twofaExpires - Date.now() / 1000));
    if (left > 0) {
      const time = Math.floor(left / 60) + ':' + String(left % 60).padStart(2, '0');
      el.twofaCountdown.textContent = t('twofaCountdown', { time });
      el.twofaCountdown.classList.remove('expired');
    } else {
      el.twofaCountdown.textContent = t('twofaExpired');
      el.twofaCountdown.classList.add('expired');
      clearInterval(S.twofaTimer);
    }
  }

  function stopTwofa() {
    clearInterval(S.twofaTimer);
    S.twofaTimer = null;
    if (!el.twofaForm.hidden) {
      const hadFocus = el.twofaForm.contains(document.activeElement);
      el.twofaForm.hidden = true;
      el.twofaCode.value = '';
      if (hadFocus) el.progressTitle.focus();
    }
  }

  el.twofaForm.addEventListener('submit', (e) => {
    e.preventDefault();
    const code = el.twofaCode.value.replace(/\s+/g, '');
    if (!code) { el.twofaCode.focus(); return; }
    if (!send({ type: 'twofa', code })) S.pendingTwofa = code;
    el.twofaCode.value = '';
    el.twofaCode.removeAttribute('aria-invalid');
    el.twofaError.hidden = true;
    clearInterval(S.twofaTimer);
    el.twofaForm.hidden = true;
    el.status.textContent = t('checking');
    el.progressTitle.focus();
  });

  // ---------------------------------------------------------------- live screen

  const liveScreen = window.gleanerLiveScreen({
    root: el.live,
    frame: $('screen-frame'),
    stage: $('screen-stage'),
    canvas: el.canvas,
    ring: $('focus-ring'),
    zoomIn: $('zoom-in'),
    zoomOut: $('zoom-out'),
    zoomLevel: $('zoom-level'),
    fullscreen: $('fullscreen'),
    text: el.liveText,
    focusNote: $('live-focus'),
  }, t, send);

  function showLive(instructions) {
    showText(el.instructions, instructions || { text: t('liveDefault', { name: connectorName() }), lang });
    el.canvas.setAttribute('aria-label', t('screenLabel', { name: connectorName() }));
    // The site waits for the person now, not for gleaner.
    el.status.textContent = t('liveStatus', { name: connectorName() });
    if (!el.live.hidden) return;
    el.live.hidden = false;
    el.done.disabled = false;
    document.body.classList.add('live-on');
    liveScreen.show();
    el.canvas.focus({ preventScroll: true });
    // Bring the instructions and the whole screen into view (inside a frame, the host page
    // is not ours to scroll).
    if (embedded) el.canvas.scrollIntoView({ block: 'nearest' });
    else el.live.scrollIntoView({ block: 'start' });
  }

  function hideLive() {
    if (el.live.hidden) return;
    const hadFocus = el.live.contains(document.activeElement);
    el.live.hidden = true;
    liveScreen.hide();
    document.body.classList.remove('live-on');
    if (hadFocus) el.progressTitle.focus();
  }

  el.done.addEventListener('click', () => {
    send({ type: 'close' });
    el.done.disabled = true;
    el.status.textContent = t('checking');
  });

  // ---------------------------------------------------------------- end

  function isWrongCode(code) {
    return code === 'LOGIN_FAILED.WRONG_TWOFA_CODE';
  }

  // The server's advice (same words as the webhooks carry) for the codes the UI has no
  // sentence of its own for.
  function failureText(code, advice) {
    if (isWrongCode(code)) return t('failWrongCode');
    if (code.startsWith('LOGIN_FAILED')) return t('failLogin');
    if (code === 'USER_ACTION_NEEDED.TWOFA_EXPIRED') return t('failCodeExpired');
    if (code.startsWith('USER_ACTION_NEEDED')) return t('failUserAction');
    if (code.startsWith('VENDOR_DOWN')) return t('failVendorDown');
    if (advice && advice[lang]) return advice[lang];
    return t('failGeneric', { name: connectorName() });
  }

  // error: the failure's reason (reasonOf), null on success; advice: the server's `{en, fr}`.
  function finish(state, error, advice) {
    S.final = true;
    closeSocket();
    stopTwofa();
    hideLive();
    notice('');
    const success = state === 7;
    const code = success ? null : error.code;
    S.finalCode = code;

    if (S.verify) {
      const event = {
        type: success ? 'did-add-authorization' : 'did-fail-authorization-verification',
        // Never null: the account's identity, or empty when the connector names none.
        identity: S.identity || identityOf(S.credential) || '',
        authorizationId: S.credentialId,
        alreadyExists: !!S.alreadyExists,
      };
      if (!success) event.error = error;
      postToHost(event);
    }
    if (S.urlAdded) {
      // A reload after the end should not start the verification again.
      const url = new URL(location.href);
      url.searchParams.delete('collect');
      url.searchParams.delete('verify');
      history.replaceState(history.state, '', url.href);
      S.urlAdded = false;
    }

    const name = connectorName();
    if (success) {
      el.endTitle.textContent = t(S.verify ? 'successVerifyTitle' : 'successCollectTitle', { name });
      el.endMessage.textContent = t(S.verify ? 'successVerifyText' : 'successCollectText', { name });
      el.endCode.hidden = true;
    } else {
      el.endTitle.textContent = t('failTitle');
      el.endMessage.textContent = failureText(code, advice);
      const known = /^(LOGIN_FAILED|USER_ACTION_NEEDED|VENDOR_DOWN)/.test(code);
      el.endCode.textContent = t('errorCode', { code });
      el.endCode.hidden = known;
    }
    // The details are what to correct only when the site refused them (LOGIN_FAILED); after
    // a wrong code they were right, and trying again (a new code) is the way forward.
    const loginFailed = !success && code.startsWith('LOGIN_FAILED') && !isWrongCode(code);
    const canCorrect = loginFailed && !!S.connector && !!S.credentialId;
    el.retry.hidden = !canCorrect;
    el.again.hidden = success || !S.credentialId || loginFailed;
    el.again.className = canCorrect ? 'secondary' : 'primary';

    const redirect = redirectTarget(success, code);
    el.cont.hidden = !redirect;
    el.cont.className = canCorrect || !el.again.hidden ? 'secondary' : 'primary';
    el.redirectNote.hidden = true;

    const hide = !!(S.context && S.context.hideEndScreen);
    document.body.classList.toggle('blank', hide);
    showScreen(success ? 'success' : 'failure', hide ? false : undefined);

    // Going back automatically would take away the chance to correct the details.
    if (redirect && (hide || !(canCorrect || !el.again.hidden))) startRedirect(redirect, hide ? 0 : 3);
  }

  function redirectTarget(success, code) {
    if (embedded || !S.context || !S.context.redirectUrl) return null;
    let url;
    try { url = new URL(S.context.redirectUrl, location.href); } catch (_) { return null; }
    if (url.protocol !== 'https:' && url.protocol !== 'http:') return null;
    url.searchParams.set('status', success ? 'success' : 'failure');
    if (S.credentialId) url.searchParams.set('authorizationId', S.credentialId);
    url.searchParams.set('alreadyExists', S.alreadyExists ? 'true' : 'false');
    if (!success && code) url.searchParams.set('code', code);
    return url.href;
  }

  function startRedirect(href, seconds) {
    clearInterval(S.redirectTimer);
    let left = seconds;
    const tick = () => {
      if (left <= 0) {
        clearInterval(S.redirectTimer);
        location.assign(href);
        return;
      }
      el.redirectNote.textContent = t('redirectNote', { n: left });
      el.redirectNote.hidden = false;
      left--;
    };
    tick();
    if (seconds > 0) S.redirectTimer = setInterval(tick, 1000);
  }

  function clearTimers() {
    clearInterval(S.redirectTimer);
    S.redirectTimer = null;
    el.redirectNote.hidden = true;
    document.body.classList.remove('blank');
  }

  el.cont.addEventListener('click', () => {
    const href = redirectTarget(S.lastState === 7, S.finalCode);
    if (href) location.assign(href);
  });

  el.retry.addEventListener('click', () => {
    if (!S.connector || !S.credentialId) return;
    const fields = (S.credential && S.credential.fields) || {};
    openForm(S.connector, { id: S.credentialId, fields });
  });

  el.again.addEventListener('click', () => {
    if (!S.credentialId) return;
    const url = new URL(location.href);
    if (S.verify) {
      url.searchParams.set('collect', S.credentialId);
      url.searchParams.set('verify', '1');
      history.replaceState(history.state, '', url.href);
      S.urlAdded = !config.collect;
    }
    attach(S.credentialId, S.verify);
  });

  el.reload.addEventListener('click', () => location.reload());

  // ---------------------------------------------------------------- close request

  // The host owns the iframe: the UI can only ask it to close. Escape anywhere asks, except
  // where Escape already means something (the live screen forwards it to the site; a search
  // with text clears it).
  function requestClose(via) {
    postToHost({ type: 'close-requested', via, authorizationId: S.credentialId });
  }

  el.close.addEventListener('click', () => requestClose('button'));

  document.addEventListener('keydown', (e) => {
    if (e.key !== 'Escape' || e.defaultPrevented || e.isComposing) return;
    if (e.target === el.search && el.search.value) return;
    requestClose('escape');
  });

  // ---------------------------------------------------------------- expired / fatal

  function showExpired() {
    S.final = true;
    closeSocket();
    clearTimers();
    stopTwofa();
    showScreen('expired');
  }

  // message: what to tell the person; err: an ApiError whose code is shown small.
  function fatal(message, err) {
    S.final = true;
    closeSocket();
    clearTimers();
    stopTwofa();
    el.fatalMessage.textContent = message || t('errorText');
    const code = err && err.code && err.code !== 'NETWORK' ? err.code : '';
    el.fatalCode.textContent = code ? t('errorCode', { code }) : '';
    el.fatalCode.hidden = !code;
    showScreen('error');
  }

  function apiFailure(err) {
    if (err.status === 401) return;
    if (err.status === 404) fatal(t('notFound'), err);
    else if (err.status === 0) fatal(t('networkError'), err);
    else fatal(t('errorText'), err);
  }

  // ---------------------------------------------------------------- start

  async function start() {
    applyStatic();
    if (!config.token) {
      fatal(t('errorText'));
      return;
    }
    let context;
    try {
      context = await api('GET', '/ui/api/context');
    } catch (err) {
      apiFailure(err);
      return;
    }
    S.context = context || {};
    for (const c of S.context.connectors || []) S.connectors.set(c.id, c);

    if (config.collect) {
      await attach(String(config.collect), !!config.verify);
      return;
    }
    const fixed = config.connector || S.context.connector;
    if (fixed && S.connectors.has(fixed)) {
      openForm(S.connectors.get(fixed), null);
      return;
    }
    renderConnectors();
    showScreen('connectors');
  }

  start();
})();
