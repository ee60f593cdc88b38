{{- define "app.fullname" -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "app.selectorLabels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "app.labels" -}}
{{ include "app.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{- define "app.podSpec" -}}
terminationGracePeriodSeconds: 2
containers:
  - name: app
    image: "{{ .Values.image.repository }}:{{ .Values.image.tag }}"
    imagePullPolicy: {{ .Values.image.pullPolicy }}
    command: ["/bin/sh", "-c"]
    args:
      - |
        set -e
        echo "app {{ .Chart.Version }} starting in mode $MODE"
        if [ "$MODE" = crash ]; then
          echo "app: configuration invalid: database.url is not set" >&2
          exit 1
        fi
        mkdir -p /www
        echo "$MESSAGE" > /www/index.html
        if [ "$MODE" != never-ready ]; then echo ok > /www/healthz; fi
        if [ -d /data ]; then
          echo "app: data written by $(cat /data/version 2>/dev/null || echo nobody)"
          echo "{{ .Chart.Version }}" > /data/version
        fi
        exec httpd -f -v -p 8080 -h /www
    envFrom:
      - configMapRef:
          name: {{ include "app.fullname" . }}
    ports:
      - name: http
        containerPort: 8080
    readinessProbe:
      httpGet:
        path: /healthz
        port: http
      periodSeconds: 2
      failureThreshold: 1
    {{- if .Values.statefulset }}
    volumeMounts:
      - name: data
        mountPath: /data
    {{- end }}
{{- end -}}
